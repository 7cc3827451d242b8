/**
 * The model in floating point, for training only. Inference runs the quantized integer
 * copy in ../model.ts; both compute the same function of the same features.
 */
import { CELL_HEIGHT, CELL_WIDTH, PALETTE_SIZE } from '../constants';
import { NEIGHBOUR_FEATURES, NUM_CLASSES, POSITION_KEYS } from '../model-spec';
import type { Xoshiro128 } from '../prng';

export type TFloatModel = {
  hidden: number;
  embed: number;
  b1: Float64Array; // [H]
  wx: Float64Array; // [CELL_WIDTH][H]
  wy: Float64Array; // [CELL_HEIGHT][H]
  wn: Float64Array; // [NEIGHBOUR_FEATURES][H]
  z: Float64Array; // [NUM_CLASSES][POSITION_KEYS][D]
  wz: Float64Array; // [D][H]
  w2: Float64Array; // [H][K]
  b2: Float64Array; // [K]
  bout: Float64Array; // [NUM_CLASSES][POSITION_KEYS][K]
};

// Module-local copies: imported bindings are live getters under some loaders, slow in hot loops.
const K = PALETTE_SIZE;
const CW = CELL_WIDTH;
const PK = POSITION_KEYS;

export function createFloatModel(hidden: number, embed: number, rng: Xoshiro128): TFloatModel {
  const gauss = () => {
    // Box–Muller; float math is fine here, the trained weights are what gets pinned.
    const u = (rng.nextUint32() + 1) / 0x1_0000_0001;
    const v = rng.nextUint32() / 0x1_0000_0000;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const init = (n: number, scale: number) => Float64Array.from({ length: n }, () => gauss() * scale);
  return {
    hidden,
    embed,
    b1: new Float64Array(hidden).fill(0.1),
    wx: init(CELL_WIDTH * hidden, 0.1),
    wy: init(CELL_HEIGHT * hidden, 0.1),
    wn: init(NEIGHBOUR_FEATURES * hidden, 0.2),
    z: init(NUM_CLASSES * POSITION_KEYS * embed, 0.5),
    wz: init(embed * hidden, 1 / Math.sqrt(embed)),
    w2: init(hidden * K, 1 / Math.sqrt(hidden)),
    b2: new Float64Array(K),
    bout: new Float64Array(NUM_CLASSES * POSITION_KEYS * K),
  };
}

/** Scratch space for one example, reused to keep the training loop allocation-free. */
export type TScratch = { pre: Float64Array; h: Float64Array; dpre: Float64Array; g: Float64Array; p: Float64Array };

export function createScratch(m: TFloatModel): TScratch {
  return {
    pre: new Float64Array(m.hidden),
    h: new Float64Array(m.hidden),
    dpre: new Float64Array(m.hidden),
    g: new Float64Array(K),
    p: new Float64Array(K),
  };
}

/** Fills s.p with the model's distribution over the palette for one pixel at cell position `pos` with position key `key`. */
export function forward(
  m: TFloatModel,
  cls: number,
  pos: number,
  key: number,
  feats: Int32Array,
  nFeats: number,
  s: TScratch,
): void {
  const H = m.hidden;
  const D = m.embed;
  const { b1, wx, wy, wn, z, wz, w2, b2, bout } = m;
  const { pre, h, p } = s;
  const cx = pos % CW;
  const cy = (pos - cx) / CW;
  const xOff = cx * H;
  const yOff = cy * H;
  for (let j = 0; j < H; j++) pre[j] = b1[j]! + wx[xOff + j]! + wy[yOff + j]!;
  for (let i = 0; i < nFeats; i++) {
    const off = feats[i]! * H;
    for (let j = 0; j < H; j++) pre[j] = pre[j]! + wn[off + j]!;
  }
  const zOff = (cls * PK + key) * D;
  for (let d = 0; d < D; d++) {
    const zd = z[zOff + d]!;
    const off = d * H;
    for (let j = 0; j < H; j++) pre[j] = pre[j]! + zd * wz[off + j]!;
  }
  for (let j = 0; j < H; j++) {
    const v = pre[j]!;
    h[j] = v > 0 ? v : 0;
  }
  const bOff = (cls * PK + key) * K;
  let max = -Infinity;
  for (let k = 0; k < K; k++) {
    let l = b2[k]! + bout[bOff + k]!;
    for (let j = 0; j < H; j++) l += h[j]! * w2[j * K + k]!;
    p[k] = l;
    if (l > max) max = l;
  }
  let sum = 0;
  for (let k = 0; k < K; k++) {
    const e = Math.exp(p[k]! - max);
    p[k] = e;
    sum += e;
  }
  for (let k = 0; k < K; k++) p[k] = p[k]! / sum;
}

/** One SGD step on one example, after forward() filled the scratch. */
export function backwardAndStep(
  m: TFloatModel,
  cls: number,
  pos: number,
  key: number,
  feats: Int32Array,
  nFeats: number,
  target: number,
  s: TScratch,
  lr: number,
): void {
  const H = m.hidden;
  const D = m.embed;
  const { b1, wx, wy, wn, z, wz, w2, b2, bout } = m;
  const { pre, h, dpre, g, p } = s;
  const cx = pos % CW;
  const cy = (pos - cx) / CW;
  // d loss / d logit = p - onehot(target).
  for (let k = 0; k < K; k++) g[k] = p[k]! - (k === target ? 1 : 0);
  for (let j = 0; j < H; j++) {
    let dh = 0;
    const hj = h[j]!;
    for (let k = 0; k < K; k++) {
      const w = w2[j * K + k]!;
      dh += w * g[k]!;
      w2[j * K + k] = w - lr * hj * g[k]!;
    }
    dpre[j] = pre[j]! > 0 ? lr * dh : 0;
  }
  const bOff = (cls * PK + key) * K;
  for (let k = 0; k < K; k++) {
    b2[k] = b2[k]! - lr * g[k]!;
    bout[bOff + k] = bout[bOff + k]! - lr * g[k]!;
  }
  // dpre already carries the learning rate from here on.
  const zOff = (cls * PK + key) * D;
  for (let d = 0; d < D; d++) {
    const zd = z[zOff + d]!;
    const off = d * H;
    let gz = 0;
    for (let j = 0; j < H; j++) {
      const dp = dpre[j]!;
      const w = wz[off + j]!;
      gz += w * dp;
      wz[off + j] = w - zd * dp;
    }
    z[zOff + d] = zd - gz;
  }
  const xOff = cx * H;
  const yOff = cy * H;
  for (let j = 0; j < H; j++) {
    const dp = dpre[j]!;
    b1[j] = b1[j]! - dp;
    wx[xOff + j] = wx[xOff + j]! - dp;
    wy[yOff + j] = wy[yOff + j]! - dp;
  }
  for (let i = 0; i < nFeats; i++) {
    const off = feats[i]! * H;
    for (let j = 0; j < H; j++) wn[off + j] = wn[off + j]! - dpre[j]!;
  }
}
