/**
 * The model's inputs, shared by the trainer and by integer inference so both see exactly
 * the same features.
 *
 * For the pixel at (x, y) the model sees:
 *  - the palette indices of a causal window of pixels already drawn (three to the left on
 *    this row, seven centred above on each of the three rows before), one-hot per colour;
 *  - the prompt character whose cell the pixel lies in, through a learned embedding per
 *    (character, position key), plus learned features of the pixel's column and row in
 *    its cell;
 *  - the position key: the pixel's offset from the first ink pixel (either ink) drawn in its
 *    cell (the "anchor"), or, before the cell has any ink, its position in the cell.
 * A hidden ReLU layer mixes them; a softmax over the palette gives the next pixel's colour.
 *
 * Why the anchor: the training glyphs sit at random ±1 pixel shifts, and a causal window a
 * few rows high forgets, across a tall gap, which shift the glyph started at (where does
 * E's bottom bar go?). The first ink pixel of a cell fixes the shift, so positions counted
 * from it let the model keep one glyph's parts in register. It is computed from pixels
 * already drawn, so the model stays autoregressive.
 */
import { CELL_HEIGHT, CELL_WIDTH, PALETTE_SIZE, SUPPORTED_CHARACTERS } from './constants';

/** (dx, dy) of every neighbour the model conditions on; all precede (0, 0) in raster order. */
export const NEIGHBOURS: readonly (readonly [number, number])[] = [
  [-1, 0],
  [-2, 0],
  [-3, 0],
  ...[-1, -2, -3].flatMap((dy) => [-3, -2, -1, 0, 1, 2, 3].map((dx) => [dx, dy] as const)),
];
export const NUM_NEIGHBOURS = NEIGHBOURS.length;
/** Paper is the implicit zero of the one-hot, so each neighbour contributes PALETTE_SIZE-1 features. */
export const NEIGHBOUR_FEATURES = NUM_NEIGHBOURS * (PALETTE_SIZE - 1);
// A module-local copy: imported bindings can be live getters, slow in a per-pixel loop.
const COLOURS_PER_NEIGHBOUR = PALETTE_SIZE - 1;
export const CELL_POSITIONS = CELL_WIDTH * CELL_HEIGHT;
/** Offsets from an anchor in the same cell: dx in -(CELL_WIDTH-1)..CELL_WIDTH-1, dy in 0..CELL_HEIGHT-1. */
export const ANCHOR_SPAN_X = 2 * CELL_WIDTH - 1;
/** Position keys: cell positions before a cell has ink, then anchor offsets. */
export const POSITION_KEYS = CELL_POSITIONS + ANCHOR_SPAN_X * CELL_HEIGHT;
/** Marks a cell with no ink drawn yet. The key itself is computed by positionKey() in integer-inference.ts. */
export const NO_ANCHOR = -1;
export const NUM_CLASSES = Array.from(SUPPORTED_CHARACTERS).length;

/** Margin of paper around a padded canvas so that the window never needs a bounds check. */
export const PAD_LEFT = 3;
export const PAD_RIGHT = 3;
export const PAD_TOP = 3;

const CLASS_INDEX = new Map(Array.from(SUPPORTED_CHARACTERS).map((c, i) => [c, i] as const));

/** Index of a supported character in SUPPORTED_CHARACTERS, or -1. */
export function classIndex(char: string): number {
  return CLASS_INDEX.get(char) ?? -1;
}

export const SPACE_CLASS = classIndex(' ');

/** A canvas with paper margins; pixel (x, y) lives at (y + PAD_TOP) * stride + x + PAD_LEFT. */
export type TPaddedCanvas = { data: Uint8Array; stride: number; width: number; height: number };

export function createPaddedCanvas(width: number, height: number): TPaddedCanvas {
  const stride = width + PAD_LEFT + PAD_RIGHT;
  return { data: new Uint8Array(stride * (height + PAD_TOP)), stride, width, height };
}

export function paddedIndex(canvas: TPaddedCanvas, x: number, y: number): number {
  return (y + PAD_TOP) * canvas.stride + x + PAD_LEFT;
}

/** Offsets of the window relative to the current pixel's index in a canvas of this stride. */
export function neighbourOffsets(stride: number): Int32Array {
  return Int32Array.from(NEIGHBOURS, ([dx, dy]) => dy * stride + dx);
}

/**
 * Writes the active neighbour-feature indices of the pixel at `index` to `out` and returns
 * how many there are (paper neighbours have none).
 */
export function neighbourFeatures(data: Uint8Array, index: number, offsets: Int32Array, out: Int32Array): number {
  let n = 0;
  for (let i = 0; i < offsets.length; i++) {
    const v = data[index + offsets[i]!]!;
    if (v !== 0) out[n++] = i * COLOURS_PER_NEIGHBOUR + v - 1;
  }
  return n;
}

/** Which prompt character fills each cell of a picture, row-major; unused cells are spaces. */
export type TLayout = {
  columns: number;
  rows: number;
  /** Class index per cell, length columns * rows. */
  cells: Int32Array;
};

/**
 * Cells are laid out left to right and wrap to the next row of cells when a line is full.
 * Pixels right of the last whole column or below the last whole row belong to no cell
 * and are drawn as part of a space.
 */
export function layoutPrompt(prompt: string, width: number, height: number): TLayout {
  const columns = Math.floor(width / CELL_WIDTH);
  const rows = Math.floor(height / CELL_HEIGHT);
  const cells = new Int32Array(columns * rows).fill(SPACE_CLASS);
  Array.from(prompt).forEach((ch, i) => {
    if (i < cells.length) cells[i] = classIndex(ch);
  });
  return { columns, rows, cells };
}

/** The picture size used when a request names none: one line of up to DEFAULT_COLUMNS cells per row. */
export function defaultSize(promptLength: number, defaultColumns: number): { width: number; height: number } {
  const columns = Math.max(1, Math.min(promptLength, defaultColumns));
  const rows = Math.max(1, Math.ceil(promptLength / columns));
  return { width: columns * CELL_WIDTH, height: rows * CELL_HEIGHT };
}
