/**
 * Picture rendering for the training data and for the depiction test's templates. This is
 * the "ground truth" the model learns from; the inference path must not import it.
 */
import { CELL_HEIGHT, CELL_WIDTH, SHAPES } from './constants';
import { FONT, FONT_HEIGHT, FONT_WIDTH } from './font';

/** Glyph box: the 5x7 font at 2x. */
export const GLYPH_WIDTH = FONT_WIDTH * 2;
export const GLYPH_HEIGHT = FONT_HEIGHT * 2;
/** Where the glyph box sits in its cell before any shift. */
export const GLYPH_X = 2;
export const GLYPH_Y = 2;

export type TGlyphStyle = {
  /** Stroke grown by one pixel to the right and down. */
  bold: boolean;
};

/**
 * Shapes have one size. Varying it was tried: measured from the anchor (see model-spec.ts)
 * an 8- and a 10-pixel square start alike, and a three-row window cannot tell at the
 * bottom edge which one it is drawing, so samples came out 8 wide and 10 tall.
 */
export const SHAPE_SIZE = 10;

/** Ink mask (1 = ink) of one character in a GLYPH_WIDTH+1 by GLYPH_HEIGHT+1 box (room for bold). */
export function glyphMask(char: string, style: TGlyphStyle): Uint8Array {
  const w = GLYPH_WIDTH + 1;
  const mask = new Uint8Array(w * (GLYPH_HEIGHT + 1));
  const rowsOf = FONT[char];
  if (rowsOf) {
    for (let gy = 0; gy < FONT_HEIGHT; gy++) {
      const row = rowsOf[gy] ?? '';
      for (let gx = 0; gx < FONT_WIDTH; gx++) {
        if (row[gx] !== '1') continue;
        for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) mask[(gy * 2 + dy) * w + gx * 2 + dx] = 1;
      }
    }
  } else if (SHAPES.includes(char)) {
    drawShape(mask, w, char, SHAPE_SIZE);
  } else if (char !== ' ') {
    throw new Error(`No picture for character ${JSON.stringify(char)}`);
  }
  if (style.bold) {
    const src = mask.slice();
    for (let y = 0; y <= GLYPH_HEIGHT; y++) {
      for (let x = 0; x <= GLYPH_WIDTH; x++) {
        if (src[y * w + x] !== 1) continue;
        if (x + 1 <= GLYPH_WIDTH) mask[y * w + x + 1] = 1;
        if (y + 1 <= GLYPH_HEIGHT) mask[(y + 1) * w + x] = 1;
      }
    }
  }
  return mask;
}

function drawShape(mask: Uint8Array, w: number, char: string, size: number): void {
  // Centred in the glyph box; pixel centres decide membership.
  const cx = GLYPH_WIDTH / 2;
  const cy = GLYPH_HEIGHT / 2;
  const r = size / 2;
  for (let y = 0; y < GLYPH_HEIGHT; y++) {
    for (let x = 0; x < GLYPH_WIDTH; x++) {
      const px = x + 0.5 - cx;
      const py = y + 0.5 - cy;
      const inSquare = Math.abs(px) < r && Math.abs(py) < r;
      const d2 = px * px + py * py;
      let on: boolean;
      switch (char) {
        case '■':
          on = inSquare;
          break;
        case '□':
          on = inSquare && !(Math.abs(px) < r - 2 && Math.abs(py) < r - 2);
          break;
        case '●':
          on = d2 <= r * r;
          break;
        case '○':
          on = d2 <= r * r && d2 > (r - 2) * (r - 2);
          break;
        case '▲': {
          // Apex at the top, base at the bottom, both spanning `size`.
          const t = (py + r) / size;
          on = py > -r && py < r && Math.abs(px) <= t * r + 0.01;
          break;
        }
        default:
          throw new Error(`Unknown shape ${char}`);
      }
      if (on) mask[y * w + x] = 1;
    }
  }
}

export type TCellVariation = TGlyphStyle & {
  shiftX: number;
  shiftY: number;
  /** Palette index the character is written in. */
  colour: number;
};

/**
 * Draws one character into its cell of a palette-index canvas. Drawing is clipped to the
 * cell, so a neighbour never paints into it.
 */
export function drawCell(
  canvas: Uint8Array,
  width: number,
  cellX: number,
  cellY: number,
  char: string,
  v: TCellVariation,
): void {
  const mask = glyphMask(char, v);
  const mw = GLYPH_WIDTH + 1;
  const x0 = cellX + GLYPH_X + v.shiftX;
  const y0 = cellY + GLYPH_Y + v.shiftY;
  const inCell = (x: number, y: number) =>
    x >= cellX && x < cellX + CELL_WIDTH && y >= cellY && y < cellY + CELL_HEIGHT;
  for (let my = 0; my <= GLYPH_HEIGHT; my++) {
    for (let mx = 0; mx < mw; mx++) {
      if (mask[my * mw + mx] !== 1) continue;
      const x = x0 + mx;
      const y = y0 + my;
      if (inCell(x, y)) canvas[y * width + x] = v.colour;
    }
  }
}
