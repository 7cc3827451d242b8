/**
 * Loads the committed quantized weights and folds them into the integer tables that
 * inference reads. Folding is exact integer arithmetic, so the folded model computes
 * the same integers on every machine.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CELL_HEIGHT, CELL_WIDTH, PALETTE_SIZE, SUPPORTED_CHARACTERS } from './constants';
import { CELL_POSITIONS, NEIGHBOUR_FEATURES, NEIGHBOURS, NUM_CLASSES, POSITION_KEYS } from './model-spec';
import { decodeWeights, type TWeightsHeader } from './weights-file';
import { readGeneratorEnv } from './env';

export const WEIGHTS_URL = new URL('../model/weights.bin', import.meta.url);

/** Hidden accumulators are Q10: weights stored in that format add without rescaling. */
export const HIDDEN_FRACTION_BITS = 10;
/** Logits handed to the sampler are Q8 log2 units: 256 per halving of probability. */
export const LOGIT_FRACTION_BITS = 8;
export const HIDDEN_MAX = 4095;
export const W2_MAX = 2047;
export const MAX_HIDDEN_UNITS = 64;

export type TIntModel = {
  /** sha256 hex of the weights file; part of every checksum. */
  version: string;
  header: TWeightsHeader;
  hidden: number;
  /** Per (class, position key): the embedding's share of the hidden pre-activation, Q10. [C][PK][H] */
  zProj: Int32Array;
  /** Per cell position: hidden bias plus column and row features, Q10. [P][H] */
  posBase: Int32Array;
  /** Per neighbour feature: its contribution to the hidden pre-activation, Q10. [F][H] */
  wn: Int32Array;
  /** Output weights, Q(w2Exponent) log2 units. [H][K] */
  w2: Int32Array;
  /** Per (class, position key): output bias in the logit accumulator's format. [C][PK][K] */
  outBase: Int32Array;
  hiddenShift: number;
  /** Shift from the logit accumulator, Q(10 - hiddenShift + w2Exponent), to Q8. */
  logitShift: number;
};

/**
 * Bounds that keep the per-pixel arithmetic inside int32 (so `>>` is exact):
 *  |zProj| < 2^24 (checked when folding), |posBase| < 3 · 2^15, |wn| < 2^15 and at most
 *  24 active neighbours, so the hidden accumulator stays below 2^25;
 *  0 <= hidden <= 4095 < 2^12, |w2| <= 2047 < 2^11, at most 64 hidden units:
 *  the output sum stays below 2^29; |outBase| < 2^15 · 2^logitShift <= 2^28.
 */
export function foldWeights(bytes: Uint8Array): TIntModel {
  const { header, tensors } = decodeWeights(bytes);
  const mismatch = (what: string) =>
    new Error(
      `weights file does not match this code (${what}); run the trainer again (npm run train -w @coolant/generator)`,
    );
  if (header.characters !== SUPPORTED_CHARACTERS) throw mismatch('character set');
  if (header.cellWidth !== CELL_WIDTH || header.cellHeight !== CELL_HEIGHT) throw mismatch('cell size');
  if (header.paletteSize !== PALETTE_SIZE) throw mismatch('palette size');
  if (JSON.stringify(header.neighbours) !== JSON.stringify(NEIGHBOURS)) throw mismatch('neighbour window');
  const H = header.hidden;
  const D = header.embed;
  const K = PALETTE_SIZE;
  if (H > MAX_HIDDEN_UNITS) throw mismatch(`${H} hidden units, at most ${MAX_HIDDEN_UNITS} keep the sums in int32`);
  const logitShift = HIDDEN_FRACTION_BITS - header.hiddenShift + header.w2Exponent - LOGIT_FRACTION_BITS;
  if (logitShift < 0 || logitShift > 12) throw mismatch(`logit shift ${logitShift} outside 0..12`);
  const { b1, wx, wy, wn, z, wz, w2, outBias } = tensors;
  const expectLength = (name: string, t: Int16Array | undefined, n: number): Int16Array => {
    if (!t || t.length !== n) throw mismatch(`tensor ${name} should hold ${n} values`);
    return t;
  };
  expectLength('b1', b1, H);
  expectLength('wx', wx, CELL_WIDTH * H);
  expectLength('wy', wy, CELL_HEIGHT * H);
  expectLength('wn', wn, NEIGHBOUR_FEATURES * H);
  expectLength('z', z, NUM_CLASSES * POSITION_KEYS * D);
  expectLength('wz', wz, D * H);
  expectLength('w2', w2, H * K);
  expectLength('outBias', outBias, NUM_CLASSES * POSITION_KEYS * K);
  for (const v of w2) if (v > W2_MAX || v < -W2_MAX) throw mismatch('w2 outside ±2047');

  // z·wz is Q(zExponent + wzExponent): products of two int16 values, D of them summed, stay
  // below D · 2^30 < 2^53, so the sums are exact doubles; dividing by a power of two is exact
  // too, so the rounding below is the exact round-half-up of the true quotient.
  const zShift = header.zExponent + header.wzExponent - HIDDEN_FRACTION_BITS;
  if (D * 2 ** 30 >= 2 ** 53) throw mismatch('embedding too wide for exact sums');
  const zProj = new Int32Array(NUM_CLASSES * POSITION_KEYS * H);
  const divisor = 2 ** Math.max(0, zShift);
  const multiplier = 2 ** Math.max(0, -zShift);
  const half = zShift > 0 ? divisor / 2 : 0;
  for (let row = 0; row < NUM_CLASSES * POSITION_KEYS; row++) {
    const zOff = row * D;
    for (let j = 0; j < H; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += z[zOff + d]! * wz[d * H + j]!;
      const v = Math.floor((dot * multiplier + half) / divisor);
      if (v >= 2 ** 24 || v <= -(2 ** 24)) throw mismatch('embedding projection outside ±2^24');
      zProj[row * H + j] = v;
    }
  }
  const posBase = new Int32Array(CELL_POSITIONS * H);
  for (let p = 0; p < CELL_POSITIONS; p++) {
    const cx = p % CELL_WIDTH;
    const cy = (p - cx) / CELL_WIDTH;
    for (let j = 0; j < H; j++) posBase[p * H + j] = b1[j]! + wx[cx * H + j]! + wy[cy * H + j]!;
  }
  const outBase = new Int32Array(outBias.length);
  for (let i = 0; i < outBias.length; i++) outBase[i] = outBias[i]! * 2 ** logitShift;

  return {
    version: createHash('sha256').update(bytes).digest('hex'),
    header,
    hidden: H,
    zProj,
    posBase,
    wn: Int32Array.from(wn),
    w2: Int32Array.from(w2),
    outBase,
    hiddenShift: header.hiddenShift,
    logitShift,
  };
}

let cached: TIntModel | undefined;
let embedded: Uint8Array | undefined;

/**
 * A packaged agent (one executable, no files beside it) carries the weights
 * inside itself and hands them over here before the first generation.
 */
export function useEmbeddedWeights(bytes: Uint8Array): void {
  embedded = bytes;
  cached = undefined;
}

/** The committed model, read and folded once per thread. */
export function loadModel(): TIntModel {
  // A weights file named by the environment wins (see env.ts), then embedded weights, then the committed file.
  const { weightsPath } = readGeneratorEnv();
  cached ??= foldWeights(
    weightsPath ? readFileSync(weightsPath) : embedded ? Buffer.from(embedded) : readFileSync(WEIGHTS_URL),
  );
  return cached;
}
