/**
 * The per-pixel hot path: integer logits from the folded model and an integer draw from
 * them. Nothing here may touch floating-point maths whose result an engine is free to
 * round differently (Math.exp, Math.log, Math.pow, division); test/integer-only.test.ts
 * scans this file to keep it that way. Bounds that keep every value inside int32 are
 * listed on foldWeights() and sampleColour().
 */
import { CELL_HEIGHT, CELL_WIDTH, PALETTE_SIZE, PAPER } from './constants';
import { POW2_NEG } from './fixed-point';
import { HIDDEN_MAX, type TIntModel } from './model';
import {
  ANCHOR_SPAN_X,
  CELL_POSITIONS,
  NO_ANCHOR,
  paddedIndex,
  POSITION_KEYS,
  SPACE_CLASS,
  type TLayout,
  type TPaddedCanvas,
} from './model-spec';
import type { Xoshiro128 } from './prng';

// Module-local copies: imported bindings can be live getters, slow in a per-pixel loop.
const K = PALETTE_SIZE;
const CW = CELL_WIDTH;
const CH = CELL_HEIGHT;
const SPACE = SPACE_CLASS;
const PK = POSITION_KEYS;
const PAPER_COLOUR = PAPER;
const CP = CELL_POSITIONS;
const SPAN = ANCHOR_SPAN_X;
const HMAX = HIDDEN_MAX;
const POW2 = POW2_NEG;

export type TSampler = {
  /** Temperature 0: always the most likely colour; the random stream is not consumed. */
  greedy: boolean;
  /** floor(4096 / temperature), Q12. */
  inverseTemperatureQ12: number;
  /** Smallest logit gap whose tempered weight is below the table's range (weight 0). */
  zeroWeightGap: number;
  topK: number;
};

export type TDrawState = {
  model: TIntModel;
  layout: TLayout;
  canvas: TPaddedCanvas;
  offsets: Int32Array;
  sampler: TSampler;
  rng: Xoshiro128;
  /** Per cell column of the current cell row: the anchor (first ink pixel), or NO_ANCHOR. */
  anchorX: Int32Array;
  anchorY: Int32Array;
  acc: Int32Array;
  logits: Int32Array;
  order: Int32Array;
  weights: Int32Array;
};

/**
 * The position key of in-cell position (cx, cy) given its cell's anchor (ax, ay), or
 * ax === NO_ANCHOR (see model-spec.ts). The anchor precedes the pixel in raster order, so
 * cy >= ay. The trainer computes its keys with this same function.
 */
export function positionKey(cx: number, cy: number, ax: number, ay: number): number {
  if (ax === NO_ANCHOR) return cy * CW + cx;
  return CP + (cy - ay) * SPAN + (cx - ax + CW - 1);
}

/**
 * Logits (Q8, log2 units) for the pixel at `index` of the padded canvas, at cell position
 * `pos`, with `classKey` = class * POSITION_KEYS + position key.
 */
export function pixelLogits(
  m: TIntModel,
  pos: number,
  classKey: number,
  data: Uint8Array,
  index: number,
  offsets: Int32Array,
  acc: Int32Array,
  logits: Int32Array,
): void {
  const H = m.hidden;
  const { zProj, posBase, wn, w2, outBase, hiddenShift, logitShift } = m;
  const zOff = classKey * H;
  const pOff = pos * H;
  for (let j = 0; j < H; j++) acc[j] = zProj[zOff + j]! + posBase[pOff + j]!;
  for (let i = 0; i < offsets.length; i++) {
    const v = data[index + offsets[i]!]!;
    if (v === 0) continue;
    const off = (i * (K - 1) + v - 1) * H;
    for (let j = 0; j < H; j++) acc[j] = acc[j]! + wn[off + j]!;
  }
  const oOff = classKey * K;
  for (let k = 0; k < K; k++) logits[k] = outBase[oOff + k]!;
  for (let j = 0; j < H; j++) {
    let h = acc[j]! >> hiddenShift;
    if (h <= 0) continue;
    if (h > HMAX) h = HMAX;
    const wOff = j * K;
    for (let k = 0; k < K; k++) logits[k] = logits[k]! + w2[wOff + k]! * h;
  }
  for (let k = 0; k < K; k++) logits[k] = logits[k]! >> logitShift;
}

/**
 * Draws a palette index from integer logits. Colours are ranked by logit (ties to the
 * lower index), all but the top k get weight 0, and colour k gets
 * 2^16 · 2^-(gap_k · invT / 4096 / 256) from a table, where gap_k is its logit's distance
 * below the best. Gaps at or past zeroWeightGap are cut off before multiplying, so
 * gap · invT < 2^24 + invT stays well inside int32. The draw is an exact uniform integer
 * below the weights' sum (at most 3 · 2^16).
 */
export function sampleColour(
  logits: Int32Array,
  s: TSampler,
  rng: Xoshiro128,
  order: Int32Array,
  weights: Int32Array,
): number {
  // Insertion sort of the K colour indices, best logit first; an earlier (lower) index
  // keeps its place on a tie, which makes the order total.
  for (let i = 0; i < K; i++) {
    let j = i;
    while (j > 0 && logits[order[j - 1]!]! < logits[i]!) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = i;
  }
  if (s.greedy) return order[0]!;
  const best = logits[order[0]!]!;
  let total = 0;
  for (let r = 0; r < s.topK; r++) {
    const gap = best - logits[order[r]!]!;
    let w = 0;
    if (gap < s.zeroWeightGap) {
      const t = (gap * s.inverseTemperatureQ12) >> 12;
      if (t < 4096) w = POW2[t & 255]! >> (t >> 8);
    }
    weights[r] = w;
    total += w;
  }
  let x = rng.below(total);
  for (let r = 0; r < s.topK; r++) {
    x -= weights[r]!;
    if (x < 0) return order[r]!;
  }
  return order[0]!;
}

/** Draws row y (left to right) into the canvas and into `out`, given all rows above it. */
export function drawRow(st: TDrawState, y: number, out: Uint8Array): void {
  const { model, layout, canvas, offsets, sampler, rng, anchorX, anchorY, acc, logits, order, weights } = st;
  const data = canvas.data;
  const width = canvas.width;
  // Cell row and in-cell row by counting, not dividing.
  let cellRow = 0;
  let cy = y;
  while (cy >= CH) {
    cy -= CH;
    cellRow++;
  }
  if (cy === 0) {
    anchorX.fill(NO_ANCHOR);
    anchorY.fill(NO_ANCHOR);
  }
  const rowHasCells = cellRow < layout.rows;
  const rowStart = cellRow * layout.columns;
  let index = paddedIndex(canvas, 0, y);
  let cellCol = 0;
  let cx = 0;
  for (let x = 0; x < width; x++, index++) {
    const cls = rowHasCells && cellCol < layout.columns ? layout.cells[rowStart + cellCol]! : SPACE;
    const ax = anchorX[cellCol]!;
    const key = positionKey(cx, cy, ax, anchorY[cellCol]!);
    pixelLogits(model, cy * CW + cx, cls * PK + key, data, index, offsets, acc, logits);
    const colour = sampleColour(logits, sampler, rng, order, weights);
    data[index] = colour;
    out[x] = colour;
    if (colour !== PAPER_COLOUR && ax === NO_ANCHOR) {
      anchorX[cellCol] = cx;
      anchorY[cellCol] = cy;
    }
    if (++cx === CW) {
      cx = 0;
      cellCol++;
    }
  }
}
