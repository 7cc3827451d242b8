import { createHash } from 'node:crypto';

/** sha256 hex of the bare palette-index raster, row-major, one byte per pixel. */
export function rasterSha256(pixels: Uint8Array): string {
  return createHash('sha256').update(pixels).digest('hex');
}

/**
 * The identity of a generated picture: sha256 of
 * UTF-8("coolant-generator/v1|" + modelVersion + "|" + width + "x" + height + "|") || raster.
 * The model version is in it so that retrained weights never pass for the old ones.
 */
export function pictureChecksum(modelVersion: string, width: number, height: number, pixels: Uint8Array): string {
  return createHash('sha256')
    .update(`coolant-generator/v1|${modelVersion}|${width}x${height}|`, 'utf8')
    .update(pixels)
    .digest('hex');
}
