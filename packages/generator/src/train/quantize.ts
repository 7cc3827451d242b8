/**
 * Float model → committed integer weights. Rounding to the nearest step of each tensor's
 * fixed-point format is all the float work left; everything after is integer.
 */
import { CELL_HEIGHT, CELL_WIDTH, PALETTE_SIZE, SUPPORTED_CHARACTERS } from '../constants';
import { HIDDEN_FRACTION_BITS, HIDDEN_MAX, LOGIT_FRACTION_BITS, W2_MAX } from '../model';
import { NEIGHBOURS, neighbourFeatures, neighbourOffsets, NUM_NEIGHBOURS } from '../model-spec';
import { WEIGHTS_FORMAT, type TTensorName, type TWeights } from '../weights-file';
import { TRAIN_STRIDE, type TDataset } from './dataset';
import { createScratch, forward, type TFloatModel } from './float-model';

const INT16_MAX = 32767;

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** Largest exponent e (≤ 24) with max|a| · 2^e ≤ limit. */
function exponentFor(a: Float64Array, limit: number): number {
  const m = maxAbs(a);
  return m === 0 ? 24 : Math.min(24, Math.floor(Math.log2(limit / m)));
}

function toInt16(a: Float64Array, scale: number, limit = INT16_MAX): { q: Int16Array; clamped: number } {
  let clamped = 0;
  const q = Int16Array.from(a, (v) => {
    const r = Math.round(v * scale);
    if (Math.abs(r) > limit) clamped++;
    return Math.max(-limit, Math.min(limit, r));
  });
  return { q, clamped };
}

/** Largest hidden pre-activation over (a sample of) the training pixels. */
function maxActivation(model: TFloatModel, data: TDataset, samples: number): number {
  const s = createScratch(model);
  const offsets = neighbourOffsets(TRAIN_STRIDE);
  const feats = new Int32Array(NUM_NEIGHBOURS);
  const step = Math.max(1, Math.floor(data.count / samples));
  let max = 0;
  for (let e = 0; e < data.count; e += step) {
    const nf = neighbourFeatures(data.pixels, data.index[e]!, offsets, feats);
    forward(model, data.cls[e]!, data.pos[e]!, data.key[e]!, feats, nf, s);
    for (const v of s.pre) if (v > max) max = v;
  }
  return max;
}

export function quantizeModel(model: TFloatModel, data: TDataset, training: Record<string, number | string>): TWeights {
  const H = model.hidden;
  const K = PALETTE_SIZE;
  const q10 = 2 ** HIDDEN_FRACTION_BITS;
  const zExponent = exponentFor(model.z, INT16_MAX);
  const wzExponent = exponentFor(model.wz, INT16_MAX);
  // The softmax is taken base 2 at inference, so output weights are scaled into log2 units.
  const w2Log2 = model.w2.map((v) => v * Math.LOG2E);
  const outBiasLog2 = new Float64Array(model.bout.length);
  for (let i = 0; i < outBiasLog2.length; i++) outBiasLog2[i] = (model.bout[i]! + model.b2[i % K]!) * Math.LOG2E;
  // Saturating the hidden activation at 4095 must not cut real activations short.
  const act = maxActivation(model, data, 400_000) * 1.25;
  let hiddenShift = 0;
  while (Math.ceil(act * q10) / 2 ** hiddenShift > HIDDEN_MAX) hiddenShift++;
  let w2Exponent = exponentFor(w2Log2, W2_MAX);
  // Keep the logit shift within what the loader accepts.
  w2Exponent = Math.min(w2Exponent, 12 + LOGIT_FRACTION_BITS - HIDDEN_FRACTION_BITS + hiddenShift);
  const parts: [TTensorName, { q: Int16Array; clamped: number }][] = [
    ['b1', toInt16(model.b1, q10)],
    ['wx', toInt16(model.wx, q10)],
    ['wy', toInt16(model.wy, q10)],
    ['wn', toInt16(model.wn, q10)],
    ['z', toInt16(model.z, 2 ** zExponent)],
    ['wz', toInt16(model.wz, 2 ** wzExponent)],
    ['w2', toInt16(w2Log2, 2 ** w2Exponent, W2_MAX)],
    ['outBias', toInt16(outBiasLog2, 2 ** LOGIT_FRACTION_BITS)],
  ];
  const clamped = parts.filter(([, p]) => p.clamped > 0).map(([n, p]) => `${n}: ${p.clamped}`);
  if (clamped.length > 0)
    throw new Error(`quantization clamped values (${clamped.join(', ')}); lower the learning rate`);
  return {
    header: {
      format: WEIGHTS_FORMAT,
      characters: SUPPORTED_CHARACTERS,
      cellWidth: CELL_WIDTH,
      cellHeight: CELL_HEIGHT,
      paletteSize: K,
      neighbours: NEIGHBOURS.map(([dx, dy]) => [dx, dy]),
      hidden: H,
      embed: model.embed,
      zExponent,
      wzExponent,
      w2Exponent,
      hiddenShift,
      tensors: parts.map(([name, p]) => ({ name, length: p.q.length })),
      training,
    },
    tensors: Object.fromEntries(parts.map(([name, p]) => [name, p.q])) as Record<TTensorName, Int16Array>,
  };
}
