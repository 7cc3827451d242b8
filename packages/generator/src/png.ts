import { PNG } from 'pngjs';
import { PALETTE } from './constants';

export type TRaster = { pixels: Uint8Array; width: number; height: number };

export type TEncodePngOptions = {
  /** Integer upscale factor, 1..16 (nearest neighbour): the native pictures are small. */
  scale?: number;
};

/**
 * Encodes a palette-index raster as an 8-bit RGB PNG. The filter is fixed (Sub) and the
 * deflate strategy is Z_RLE, which finds only runs and so does not depend on the hash-chain
 * matcher that differs between zlib builds; the golden test pins the resulting bytes.
 */
export function encodePng(raster: TRaster, options: TEncodePngOptions = {}): Buffer {
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1 || scale > 16)
    throw new Error(`PNG scale must be an integer from 1 to 16, got ${scale}`);
  const { pixels, width, height } = raster;
  if (pixels.length !== width * height)
    throw new Error(`raster holds ${pixels.length} pixels, ${width}x${height} needs ${width * height}`);
  const w = width * scale;
  const h = height * scale;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    const srcRow = Math.floor(y / scale) * width;
    for (let x = 0; x < w; x++) {
      const colour = PALETTE[pixels[srcRow + Math.floor(x / scale)]!];
      if (!colour) throw new Error(`pixel (${x}, ${y}) has no palette colour`);
      const o = (y * w + x) * 3;
      data[o] = colour[0];
      data[o + 1] = colour[1];
      data[o + 2] = colour[2];
    }
  }
  return PNG.sync.write({ width: w, height: h, data } as PNG, {
    colorType: 2,
    inputColorType: 2,
    inputHasAlpha: false,
    bitDepth: 8,
    filterType: 1,
    deflateLevel: 9,
    deflateStrategy: 3,
  });
}

/** Decodes a PNG written by encodePng() (scale 1) back to palette indices. */
export function decodePng(png: Buffer): TRaster {
  const img = PNG.sync.read(png);
  const pixels = new Uint8Array(img.width * img.height);
  const lookup = new Map(PALETTE.map(([r, g, b], i) => [(r << 16) | (g << 8) | b, i] as const));
  for (let i = 0; i < pixels.length; i++) {
    const o = i * 4;
    const key = (img.data[o]! << 16) | (img.data[o + 1]! << 8) | img.data[o + 2]!;
    const index = lookup.get(key);
    if (index === undefined)
      throw new Error(`pixel ${i} has colour #${key.toString(16).padStart(6, '0')}, not in the palette`);
    pixels[i] = index;
  }
  return { pixels, width: img.width, height: img.height };
}
