/**
 * Does the model draw what the prompt asks for? Each drawable character is generated many
 * times with different seeds (alone, and amid other characters) at the default sampling
 * settings, and each cell is judged by judgeCell(): its ink pixels must match the
 * character's own template (the clean training rendering, normal or bold, any ±1 pixel
 * shift, any shape size) with a higher intersection-over-union than every other
 * character's template.
 */
import { describe, expect, it } from 'vitest';
import { extractCell, judgeCell } from '../src/depiction';
import { PAPER } from '../src/constants';
import { CELL_HEIGHT, CELL_WIDTH, DRAWABLE_CHARACTERS, generate } from '../src/index';

const SAMPLES_ALONE = 100;
const SAMPLES_IN_LINE = 100;
const REQUIRED_RATE = 0.9;

describe('depiction', () => {
  it(`draws every character recognisably in at least ${REQUIRED_RATE * 100} % of samples`, () => {
    const chars = Array.from(DRAWABLE_CHARACTERS);
    const tally = new Map(chars.map((c) => [c, { ok: 0, n: 0, seenAs: [] as string[] }]));
    const judge = (pixels: Uint8Array, width: number, column: number, expected: string) => {
      const v = judgeCell(extractCell(pixels, width, column, 0), expected);
      const t = tally.get(expected)!;
      t.n++;
      if (v.correct) t.ok++;
      else t.seenAs.push(v.seen);
    };
    for (let s = 0; s < SAMPLES_ALONE; s++) {
      for (const ch of chars) {
        const r = generate({ prompt: ch, seed: 50_000 + s });
        judge(r.pixels, r.width, 0, ch);
      }
    }
    for (let s = 0; s < SAMPLES_IN_LINE; s++) {
      // Rotating the character order gives every character different neighbours each time.
      const line = chars.slice(s % chars.length).concat(chars.slice(0, s % chars.length));
      for (let i = 0; i < line.length; i += 16) {
        const part = line.slice(i, i + 16);
        const r = generate({
          prompt: part.join(''),
          seed: 90_000 + s,
          width: part.length * CELL_WIDTH,
          height: CELL_HEIGHT,
        });
        part.forEach((ch, col) => judge(r.pixels, r.width, col, ch));
      }
    }
    const ok = [...tally.values()].reduce((a, t) => a + t.ok, 0);
    const n = [...tally.values()].reduce((a, t) => a + t.n, 0);
    console.log(`depiction: ${ok}/${n} = ${((100 * ok) / n).toFixed(1)} % of cells match their character best`);
    const failing = [...tally.entries()]
      .filter(([, t]) => t.ok / t.n < REQUIRED_RATE)
      .map(([c, t]) => `${c}: ${t.ok}/${t.n} (seen as ${t.seenAs.join('')})`);
    expect(failing).toEqual([]);
  });

  it('draws a prompt left to right, one character per cell', () => {
    let ok = 0;
    const n = 40;
    for (let seed = 0; seed < n; seed++) {
      const r = generate({ prompt: 'OK', seed });
      expect([r.width, r.height]).toEqual([2 * CELL_WIDTH, CELL_HEIGHT]);
      const o = judgeCell(extractCell(r.pixels, r.width, 0, 0), 'O');
      const k = judgeCell(extractCell(r.pixels, r.width, 1, 0), 'K');
      if (o.correct && k.correct) ok++;
    }
    expect(ok / n).toBeGreaterThanOrEqual(REQUIRED_RATE);
  });

  it('wraps onto the next line of cells', () => {
    const r = generate({ prompt: 'ABCD', seed: 3, width: 2 * CELL_WIDTH, height: 2 * CELL_HEIGHT });
    const seen = [0, 1].flatMap((row) =>
      [0, 1].map((col) => judgeCell(extractCell(r.pixels, r.width, col, row), 'ABCD'[row * 2 + col]!)),
    );
    expect(seen.filter((v) => v.correct).length).toBeGreaterThanOrEqual(3);
  });

  it('leaves a space empty', () => {
    let empty = 0;
    const n = 40;
    for (let seed = 0; seed < n; seed++) {
      const r = generate({ prompt: 'A B', seed });
      const ink = extractCell(r.pixels, r.width, 1, 0).filter((v) => v !== PAPER).length;
      if (ink <= 2) empty++;
    }
    expect(empty / n).toBeGreaterThanOrEqual(REQUIRED_RATE);
  });
});
