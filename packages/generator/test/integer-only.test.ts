import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { POW2_NEG } from '../src/fixed-point';
import { loadModel, HIDDEN_MAX } from '../src/model';
import { NUM_NEIGHBOURS } from '../src/model-spec';

/** Source text without comments and string literals, so only code is scanned. */
function code(file: string): string {
  return readFileSync(new URL(`../src/${file}`, import.meta.url), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/`(?:[^`\\]|\\.)*`/g, '``');
}

describe('integer-only inference', () => {
  // The golden checksums are the real check; this keeps float maths from creeping back in.
  for (const file of ['integer-inference.ts', 'prng.ts']) {
    it(`${file} uses no float maths`, () => {
      const src = code(file);
      expect(src).not.toMatch(
        /Math\.(exp|expm1|log|log2|log10|log1p|pow|sqrt|cbrt|tanh|sinh|cosh|sin|cos|tan|atan|atan2|random|fround|hypot)\b/,
      );
      expect(src).not.toMatch(/\bFloat(32|64)Array\b|\bparseFloat\b|\*\*/);
      // No division operator (a `/` that is not part of a comment, which was stripped).
      expect(src).not.toMatch(/[^/]\/[^/*]/);
    });
  }

  it('has an exact power-of-two table', () => {
    expect(POW2_NEG[0]).toBe(65536);
    for (let f = 1; f < 256; f++) {
      expect(POW2_NEG[f]!).toBeLessThan(POW2_NEG[f - 1]!);
      // Math.pow is only a cross-check here; the table is built with BigInt.
      expect(Math.abs(POW2_NEG[f]! - 65536 * 2 ** (-f / 256))).toBeLessThanOrEqual(0.5 + 1e-9);
    }
  });

  it('keeps every per-pixel sum of the committed model inside int32', () => {
    const m = loadModel();
    const H = m.hidden;
    const maxAbs = (a: Int32Array) => a.reduce((x, v) => Math.max(x, Math.abs(v)), 0);
    // Worst case of the hidden accumulator: largest embedding share, position share and
    // the NUM_NEIGHBOURS largest neighbour rows, whatever their signs.
    const wnRowMax = Array.from({ length: m.wn.length / H }, (_, f) => maxAbs(m.wn.subarray(f * H, (f + 1) * H))).sort(
      (a, b) => b - a,
    );
    const hiddenBound =
      maxAbs(m.zProj) + maxAbs(m.posBase) + wnRowMax.slice(0, NUM_NEIGHBOURS).reduce((a, b) => a + b, 0);
    expect(hiddenBound).toBeLessThan(2 ** 31);
    const logitBound = maxAbs(m.outBase) + H * HIDDEN_MAX * maxAbs(m.w2);
    expect(logitBound).toBeLessThan(2 ** 31);
  });
});
