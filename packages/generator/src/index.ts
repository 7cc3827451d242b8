/**
 * @coolant/generator: a small autoregressive image generator that GPU nodes run as a smoke
 * test. Pixels are palette indices sampled one at a time, in raster order, from a learned
 * distribution given the pixels already drawn and the prompt, with integer-only inference
 * so that (prompt, seed, model version) fixes every pixel on every machine.
 */
export {
  CELL_HEIGHT,
  CELL_WIDTH,
  DEFAULT_COLUMNS,
  DEFAULT_TEMPERATURE,
  DEFAULT_TOP_K,
  DRAWABLE_CHARACTERS,
  INK,
  MAX_HEIGHT,
  MAX_PROMPT_LENGTH,
  MAX_SEED,
  MAX_TEMPERATURE,
  MAX_TOP_K,
  MAX_WIDTH,
  MIN_HEIGHT,
  MIN_SEED,
  MIN_TEMPERATURE,
  MIN_TOP_K,
  MIN_WIDTH,
  PALETTE,
  PALETTE_SIZE,
  PAPER,
  RED_INK,
  SUPPORTED_CHARACTERS,
} from './constants';
export { pictureChecksum, rasterSha256 } from './checksum';
export { generate, generateRows, resolveGenerateRequest } from './generate';
export type { TGenerateResult, TOnRow, TResolvedRequest } from './generate';
export { generateInWorker } from './generate-in-worker';
export type { TGenerateInWorkerOptions } from './generate-in-worker';
export { modelVersion } from './model-info';
export { useEmbeddedWeights } from './model';
export { decodePng, encodePng } from './png';
export type { TEncodePngOptions, TRaster } from './png';
export { InvalidGenerateRequestError, validateGenerateRequest } from './validate';
export type { TGenerateRequest, TValidationProblem } from './validate';
