import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { foldWeights, loadModel, WEIGHTS_URL } from '../src/model';
import { decodeWeights, encodeWeights } from '../src/weights-file';

describe('committed weights', () => {
  it('fit in 2 MB', () => {
    expect(statSync(WEIGHTS_URL).size).toBeLessThanOrEqual(2 * 1024 * 1024);
  });

  it('are versioned by the sha256 of the file', () => {
    const bytes = readFileSync(WEIGHTS_URL);
    expect(loadModel().version).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('round-trip through the file format', () => {
    const bytes = readFileSync(WEIGHTS_URL);
    expect(Buffer.compare(encodeWeights(decodeWeights(bytes)), bytes)).toBe(0);
  });

  it('are refused when they do not match the code', () => {
    const w = decodeWeights(readFileSync(WEIGHTS_URL));
    expect(() => foldWeights(encodeWeights({ ...w, header: { ...w.header, characters: 'AB' } }))).toThrow(
      'character set',
    );
    expect(() => foldWeights(Buffer.from('nope'))).toThrow('bad magic');
  });
});
