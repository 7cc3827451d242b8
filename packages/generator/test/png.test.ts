import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng, generate, PALETTE } from '../src/index';

describe('PNG encoding', () => {
  const result = generate({ prompt: 'PNG ●', seed: 99 });

  it('decodes back to the same raster', () => {
    const decoded = decodePng(encodePng(result));
    expect(decoded.width).toBe(result.width);
    expect(decoded.height).toBe(result.height);
    expect(decoded.pixels).toEqual(result.pixels);
  });

  it('is byte-for-byte deterministic', () => {
    const a = createHash('sha256').update(encodePng(result)).digest('hex');
    const b = createHash('sha256')
      .update(encodePng(generate({ prompt: 'PNG ●', seed: 99 })))
      .digest('hex');
    expect(a).toBe(b);
  });

  it('maps palette indices to the palette colours, upscaled on request', () => {
    const png = PNG.sync.read(encodePng(result, { scale: 3 }));
    expect(png.width).toBe(result.width * 3);
    expect(png.height).toBe(result.height * 3);
    for (const [x, y] of [
      [0, 0],
      [5, 7],
      [result.width - 1, result.height - 1],
    ] as const) {
      const colour = PALETTE[result.pixels[y * result.width + x]!]!;
      const o = ((y * 3 + 2) * png.width + x * 3 + 1) * 4;
      expect([png.data[o], png.data[o + 1], png.data[o + 2]]).toEqual([...colour]);
    }
  });

  it('refuses a bad scale or a raster of the wrong length', () => {
    expect(() => encodePng(result, { scale: 0 })).toThrow('scale');
    expect(() => encodePng({ pixels: new Uint8Array(3), width: 2, height: 2 })).toThrow('4');
  });
});
