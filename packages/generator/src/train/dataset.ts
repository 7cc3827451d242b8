/**
 * Training pictures, rendered from the built-in font and shapes with the variations the
 * model has to learn: per-cell shifts of up to one pixel, bold strokes, the ink each
 * character is written in, and speckle and dropout noise. Multi-cell pictures teach the model what crosses a
 * cell border.
 */
import { CELL_HEIGHT, CELL_WIDTH, INK, PAPER, RED_INK, SUPPORTED_CHARACTERS } from '../constants';
import { positionKey } from '../integer-inference';
import { classIndex, NO_ANCHOR, PAD_LEFT, PAD_RIGHT, PAD_TOP, POSITION_KEYS } from '../model-spec';
import { createRng, type Xoshiro128 } from '../prng';
import { drawCell } from '../render';

const CHARS = Array.from(SUPPORTED_CHARACTERS);
const MAX_COLUMNS = 4;
const MAX_ROWS = 2;
/** Room for a partial cell at the right and bottom edges, as in pictures of arbitrary size. */
const MAX_WIDTH = MAX_COLUMNS * CELL_WIDTH + CELL_WIDTH - 1;
const MAX_HEIGHT = MAX_ROWS * CELL_HEIGHT + CELL_HEIGHT - 1;
/** Every training picture shares one stride so one set of window offsets serves them all. */
export const TRAIN_STRIDE = MAX_WIDTH + PAD_LEFT + PAD_RIGHT;

export type TDataset = {
  /** All pictures, padded, one after another. */
  pixels: Uint8Array;
  /** Per example (pixel): its index in `pixels`, character class, cell position and position key. */
  index: Int32Array;
  cls: Uint8Array;
  pos: Uint16Array;
  key: Uint16Array;
  count: number;
  cells: number;
};

export type TDatasetOptions = {
  /** Name of the deterministic stream the pictures are drawn from; held-out data uses another. */
  seedName: string;
  cells: number;
  /** Probability that a paper pixel turns to ink, and an ink pixel to paper. */
  speckle?: number;
  dropout?: number;
};

export function makeDataset(opts: TDatasetOptions): TDataset {
  const rng = createRng(opts.seedName, 0);
  const pictures: { data: Uint8Array; width: number; height: number; cls: Int32Array }[] = [];
  let cells = 0;
  let examples = 0;
  while (cells < opts.cells) {
    const pic = makePicture(rng, opts.speckle ?? 0.001, opts.dropout ?? 0.01);
    pictures.push(pic);
    cells += Math.floor(pic.width / CELL_WIDTH) * Math.floor(pic.height / CELL_HEIGHT);
    examples += pic.width * pic.height;
  }
  const rowsPerPicture = MAX_HEIGHT + PAD_TOP;
  const pixels = new Uint8Array(pictures.length * rowsPerPicture * TRAIN_STRIDE);
  const index = new Int32Array(examples);
  const cls = new Uint8Array(examples);
  const pos = new Uint16Array(examples);
  const key = new Uint16Array(examples);
  let e = 0;
  pictures.forEach((pic, pi) => {
    const base = pi * rowsPerPicture * TRAIN_STRIDE;
    const columns = Math.floor(pic.width / CELL_WIDTH);
    const rows = Math.floor(pic.height / CELL_HEIGHT);
    const cellsAcross = Math.ceil(pic.width / CELL_WIDTH);
    const anchorX = new Int32Array(cellsAcross);
    const anchorY = new Int32Array(cellsAcross);
    for (let y = 0; y < pic.height; y++) {
      if (y % CELL_HEIGHT === 0) {
        anchorX.fill(NO_ANCHOR);
        anchorY.fill(NO_ANCHOR);
      }
      for (let x = 0; x < pic.width; x++) {
        const i = base + (y + PAD_TOP) * TRAIN_STRIDE + x + PAD_LEFT;
        pixels[i] = pic.data[y * pic.width + x]!;
        const col = Math.floor(x / CELL_WIDTH);
        const row = Math.floor(y / CELL_HEIGHT);
        const inCell = col < columns && row < rows;
        index[e] = i;
        cls[e] = inCell ? pic.cls[row * columns + col]! : classIndex(' ');
        const cx = x % CELL_WIDTH;
        const cy = y % CELL_HEIGHT;
        pos[e] = cy * CELL_WIDTH + cx;
        key[e] = positionKey(cx, cy, anchorX[col]!, anchorY[col]!);
        // The anchor is set after this pixel's own key: a pixel never conditions on itself.
        if (pixels[i] !== PAPER && anchorX[col] === NO_ANCHOR) {
          anchorX[col] = cx;
          anchorY[col] = cy;
        }
        e++;
      }
    }
  });
  if (POSITION_KEYS > 0xffff) throw new Error('position keys overflow Uint16');
  return { pixels, index, cls, pos, key, count: examples, cells };
}

function pick<T>(rng: Xoshiro128, items: readonly T[]): T {
  return items[rng.below(items.length)]!;
}

function chance(rng: Xoshiro128, p: number): boolean {
  return rng.nextUint32() < p * 0x1_0000_0000;
}

function makePicture(rng: Xoshiro128, speckle: number, dropout: number) {
  const columns = 1 + rng.below(MAX_COLUMNS);
  const rows = 1 + rng.below(MAX_ROWS);
  const width = columns * CELL_WIDTH + (chance(rng, 0.15) ? 1 + rng.below(CELL_WIDTH - 1) : 0);
  const height = rows * CELL_HEIGHT + (chance(rng, 0.15) ? 1 + rng.below(CELL_HEIGHT - 1) : 0);
  const data = new Uint8Array(width * height);
  // Stroke weight is a property of the whole picture, as with a real typeface.
  const bold = chance(rng, 0.3);
  const cls = new Int32Array(columns * rows);
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < columns; col++) {
      // Spaces are rarer than in text: an empty cell is easy to learn.
      const char = chance(rng, 0.04) ? ' ' : pick(rng, CHARS.slice(0, -1));
      cls[row * columns + col] = classIndex(char);
      drawCell(data, width, col * CELL_WIDTH, row * CELL_HEIGHT, char, {
        bold,
        // Ink per character: a choice the model makes at a character's first pixel and must keep.
        colour: chance(rng, 0.3) ? RED_INK : INK,
        shiftX: rng.below(3) - 1,
        shiftY: rng.below(3) - 1,
      });
    }
  }
  for (let i = 0; i < data.length; i++) {
    if (data[i] === PAPER ? chance(rng, speckle) : chance(rng, dropout)) {
      data[i] = data[i] === PAPER ? INK : PAPER;
    }
  }
  return { data, width, height, cls };
}
