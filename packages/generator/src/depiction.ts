/**
 * Does a drawn cell depict its character? Used by the depiction test and the trainer's
 * report. The cell's ink pixels are compared with every drawable character's template
 * (the clean training rendering: normal or bold, at every ±1 pixel shift used in
 * training) by intersection over union; the best-scoring character is what the
 * cell shows.
 */
import { CELL_HEIGHT, CELL_WIDTH, DRAWABLE_CHARACTERS, INK, PAPER } from './constants';
import { drawCell } from './render';

const WORDS = Math.ceil((CELL_WIDTH * CELL_HEIGHT) / 32);

type TTemplate = { char: string; bits: Uint32Array; count: number };

function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

function toBits(cell: Uint8Array): Uint32Array {
  const bits = new Uint32Array(WORDS);
  for (let i = 0; i < cell.length; i++) if (cell[i] !== PAPER) bits[i >>> 5]! |= 1 << (i & 31);
  return bits;
}

let templates: TTemplate[] | undefined;

function allTemplates(): TTemplate[] {
  if (templates) return templates;
  templates = [];
  for (const char of Array.from(DRAWABLE_CHARACTERS)) {
    for (const bold of [false, true]) {
      for (let shiftY = -1; shiftY <= 1; shiftY++) {
        for (let shiftX = -1; shiftX <= 1; shiftX++) {
          const cell = new Uint8Array(CELL_WIDTH * CELL_HEIGHT);
          drawCell(cell, CELL_WIDTH, 0, 0, char, { bold, colour: INK, shiftX, shiftY });
          const bits = toBits(cell);
          templates.push({ char, bits, count: bits.reduce((n, w) => n + popcount(w), 0) });
        }
      }
    }
  }
  return templates;
}

/** Best IoU per drawable character for one cell; any ink counts, whatever its colour. */
export function scoreCell(cell: Uint8Array): Map<string, number> {
  const bits = toBits(cell);
  const count = bits.reduce((n, w) => n + popcount(w), 0);
  const best = new Map<string, number>();
  for (const t of allTemplates()) {
    let inter = 0;
    for (let i = 0; i < WORDS; i++) inter += popcount(bits[i]! & t.bits[i]!);
    const union = count + t.count - inter;
    const iou = union === 0 ? 0 : inter / union;
    if (iou > (best.get(t.char) ?? -1)) best.set(t.char, iou);
  }
  return best;
}

export type TCellVerdict = {
  expected: string;
  seen: string;
  score: number;
  runnerUp: string;
  runnerUpScore: number;
  correct: boolean;
};

/** Whether `cell` matches `expected`'s template strictly better than any other character's. */
export function judgeCell(cell: Uint8Array, expected: string): TCellVerdict {
  const byChar = scoreCell(cell);
  const scores = [...byChar.entries()].sort((a, b) => b[1] - a[1]);
  const [best, score] = scores[0] ?? ['', 0];
  // A cell with no ink overlapping any template shows nothing, not the first character.
  const seen = score > 0 ? best : '∅';
  const own = byChar.get(expected) ?? 0;
  const bestOther = scores.find(([c]) => c !== expected) ?? ['', 0];
  return {
    expected,
    seen,
    score,
    runnerUp: bestOther[0],
    runnerUpScore: bestOther[1],
    correct: own > 0 && own > bestOther[1],
  };
}

/** Cuts cell (column, row) out of a picture. */
export function extractCell(pixels: Uint8Array, width: number, column: number, row: number): Uint8Array {
  const cell = new Uint8Array(CELL_WIDTH * CELL_HEIGHT);
  for (let y = 0; y < CELL_HEIGHT; y++) {
    const from = (row * CELL_HEIGHT + y) * width + column * CELL_WIDTH;
    cell.set(pixels.subarray(from, from + CELL_WIDTH), y * CELL_WIDTH);
  }
  return cell;
}
