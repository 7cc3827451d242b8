import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GOLDEN_REQUESTS } from '../src/golden-cases';
import { encodePng, generate, generateRows, modelVersion, pictureChecksum, rasterSha256 } from '../src/index';
import type { TGenerateRequest } from '../src/index';

type TGolden = {
  modelVersion: string;
  cases: {
    request: TGenerateRequest;
    width: number;
    height: number;
    rasterSha256: string;
    pngSha256: string;
    checksum: string;
  }[];
};

const golden = JSON.parse(readFileSync(new URL('./golden.json', import.meta.url), 'utf8')) as TGolden;

describe('determinism', () => {
  it('draws the same pixels for the same request', () => {
    const a = generate({ prompt: 'SAME', seed: 77 });
    const b = generate({ prompt: 'SAME', seed: 77 });
    expect(b.pixels).toEqual(a.pixels);
    expect(b.checksum).toBe(a.checksum);
  });

  it('draws different pictures for different seeds and prompts', () => {
    const base = generate({ prompt: 'SAME', seed: 77 }).checksum;
    expect(generate({ prompt: 'SAME', seed: 78 }).checksum).not.toBe(base);
    expect(generate({ prompt: 'SAMF', seed: 77 }).checksum).not.toBe(base);
  });

  it('streams exactly the rows of the finished picture', () => {
    const rows = generateRows({ prompt: 'ROWS', seed: 5 });
    const seen: Uint8Array[] = [];
    let step = rows.next();
    while (!step.done) {
      seen.push(step.value.row);
      step = rows.next();
    }
    const result = step.value;
    expect(seen).toHaveLength(result.height);
    seen.forEach((row, y) => expect(row).toEqual(result.pixels.subarray(y * result.width, (y + 1) * result.width)));
  });

  it('puts the size and model version in the checksum', () => {
    const r = generate({ prompt: 'OK', seed: 1 });
    expect(r.modelVersion).toBe(modelVersion());
    expect(r.checksum).toBe(pictureChecksum(r.modelVersion, r.width, r.height, r.pixels));
    expect(pictureChecksum('other-model', r.width, r.height, r.pixels)).not.toBe(r.checksum);
  });

  it('uses the model whose pictures golden.json pins', () => {
    // A new model changes every picture: regenerate with `tsx src/cli/golden.ts` and commit both.
    expect(modelVersion()).toBe(golden.modelVersion);
    expect(golden.cases.map((c) => c.request)).toEqual(GOLDEN_REQUESTS);
  });

  for (const c of golden.cases) {
    it(`matches the golden picture for ${JSON.stringify(c.request)}`, () => {
      const r = generate(c.request);
      expect([r.width, r.height]).toEqual([c.width, c.height]);
      expect(rasterSha256(r.pixels)).toBe(c.rasterSha256);
      expect(r.checksum).toBe(c.checksum);
      expect(createHash('sha256').update(encodePng(r)).digest('hex')).toBe(c.pngSha256);
    });
  }
});
