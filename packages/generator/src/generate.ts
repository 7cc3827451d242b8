import { pictureChecksum } from './checksum';
import { CELL_WIDTH, DEFAULT_COLUMNS, DEFAULT_TEMPERATURE, DEFAULT_TOP_K, PALETTE, PALETTE_SIZE } from './constants';
import { inverseTemperatureQ12, temperatureMilli } from './fixed-point';
import { drawRow, type TDrawState, type TSampler } from './integer-inference';
import { loadModel, type TIntModel } from './model';
import { createPaddedCanvas, defaultSize, layoutPrompt, neighbourOffsets } from './model-spec';
import { createRng } from './prng';
import { InvalidGenerateRequestError, validateGenerateRequest, type TGenerateRequest } from './validate';

/** A request with every default filled in; what the pixels are a function of. */
export type TResolvedRequest = Required<TGenerateRequest>;

export type TGenerateResult = TResolvedRequest & {
  /** Palette indices, row-major, width * height. */
  pixels: Uint8Array;
  palette: readonly (readonly [number, number, number])[];
  /** sha256 of the weights file the pixels came from. */
  modelVersion: string;
  /** See pictureChecksum(): raster, size and model version. */
  checksum: string;
  timings: { firstRowMs: number; totalMs: number };
};

export type TOnRow = (y: number, row: Uint8Array) => void;

/** Fills in defaults; throws InvalidGenerateRequestError listing every problem. */
export function resolveGenerateRequest(request: TGenerateRequest): TResolvedRequest {
  const problems = validateGenerateRequest(request);
  if (problems.length > 0) throw new InvalidGenerateRequestError(problems);
  const size =
    request.width !== undefined && request.height !== undefined
      ? { width: request.width, height: request.height }
      : defaultSize(Array.from(request.prompt).length, DEFAULT_COLUMNS);
  return {
    prompt: request.prompt,
    seed: request.seed,
    ...size,
    temperature: request.temperature ?? DEFAULT_TEMPERATURE,
    topK: request.topK ?? DEFAULT_TOP_K,
  };
}

function createSampler(temperature: number, topK: number): TSampler {
  const milli = temperatureMilli(temperature);
  if (milli === 0) return { greedy: true, inverseTemperatureQ12: 0, zeroWeightGap: 0, topK };
  const inv = inverseTemperatureQ12(milli);
  // ceil(2^24 / inv): from this gap on, gap * inv >> 12 reaches the end of the 16-octave table.
  const zeroWeightGap = Number((16_777_216n + BigInt(inv) - 1n) / BigInt(inv));
  return { greedy: false, inverseTemperatureQ12: inv, zeroWeightGap, topK };
}

/**
 * Draws the picture row by row, top to bottom, each pixel sampled from the model given the
 * pixels above and to its left and the prompt; yields each row as soon as it is drawn
 * (a fresh copy the caller may keep) and returns the finished result.
 */
export function* generateRows(
  request: TGenerateRequest,
  /** The committed model unless given (the trainer evaluates a fresh one). */
  model?: TIntModel,
): Generator<{ y: number; row: Uint8Array }, TGenerateResult> {
  const started = performance.now();
  const req = resolveGenerateRequest(request);
  model ??= loadModel();
  const canvas = createPaddedCanvas(req.width, req.height);
  const state: TDrawState = {
    model,
    layout: layoutPrompt(req.prompt, req.width, req.height),
    canvas,
    offsets: neighbourOffsets(canvas.stride),
    sampler: createSampler(req.temperature, req.topK),
    rng: createRng(req.prompt, req.seed),
    anchorX: new Int32Array(Math.ceil(req.width / CELL_WIDTH)),
    anchorY: new Int32Array(Math.ceil(req.width / CELL_WIDTH)),
    acc: new Int32Array(model.hidden),
    logits: new Int32Array(PALETTE_SIZE),
    order: new Int32Array(PALETTE_SIZE),
    weights: new Int32Array(PALETTE_SIZE),
  };
  const pixels = new Uint8Array(req.width * req.height);
  let firstRowMs = 0;
  for (let y = 0; y < req.height; y++) {
    const row = pixels.subarray(y * req.width, (y + 1) * req.width);
    drawRow(state, y, row);
    if (y === 0) firstRowMs = performance.now() - started;
    yield { y, row: row.slice() };
  }
  return {
    ...req,
    pixels,
    palette: PALETTE,
    modelVersion: model.version,
    checksum: pictureChecksum(model.version, req.width, req.height, pixels),
    timings: { firstRowMs, totalMs: performance.now() - started },
  };
}

/**
 * Generates a picture on the calling thread, calling onRow after each row is drawn.
 * Blocks the event loop for the whole picture; servers should use generateInWorker().
 */
export function generate(request: TGenerateRequest, onRow?: TOnRow, model?: TIntModel): TGenerateResult {
  const rows = generateRows(request, model);
  for (;;) {
    const step = rows.next();
    if (step.done) return step.value;
    onRow?.(step.value.y, step.value.row);
  }
}
