import {
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
  CELL_HEIGHT,
  CELL_WIDTH,
  SHAPES,
  SUPPORTED_CHARACTERS,
  SYMBOLS,
} from './constants';

export type TGenerateRequest = {
  /** Characters from SUPPORTED_CHARACTERS, drawn one per cell, left to right, wrapping. */
  prompt: string;
  /** Integer in MIN_SEED..MAX_SEED (0..2^32-1). */
  seed: number;
  /** Pixels, MIN_WIDTH..MAX_WIDTH; default: up to DEFAULT_COLUMNS cells per line. */
  width?: number;
  /** Pixels, MIN_HEIGHT..MAX_HEIGHT; default: as many lines of cells as the prompt needs. */
  height?: number;
  /** 0 (always the likeliest colour) to 2, used in steps of 0.001. Default DEFAULT_TEMPERATURE. */
  temperature?: number;
  /** Colours kept per pixel, MIN_TOP_K..MAX_TOP_K. Default DEFAULT_TOP_K. */
  topK?: number;
};

export type TValidationProblem = { field: keyof TGenerateRequest; message: string };

/** Thrown by generate() for a request validateGenerateRequest() rejects. */
export class InvalidGenerateRequestError extends Error {
  override name = 'InvalidGenerateRequestError';
  constructor(public readonly problems: TValidationProblem[]) {
    super(`Invalid generate request: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  }
}

const SUPPORTED = new Set(Array.from(SUPPORTED_CHARACTERS));
const describeSupported = () => `supported: A-Z, 0-9, ${Array.from(SYMBOLS + SHAPES).join(' ')} and space`;

function isIntegerIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/**
 * Every problem with a request, each naming its field; an empty list means generate()
 * accepts it. Accepts `unknown` so an API layer can pass its input through untouched.
 */
export function validateGenerateRequest(input: unknown): TValidationProblem[] {
  const problems: TValidationProblem[] = [];
  if (typeof input !== 'object' || input === null) {
    return [{ field: 'prompt', message: 'request must be an object with at least prompt and seed' }];
  }
  const r = input as Record<string, unknown>;
  const chars = typeof r.prompt === 'string' ? Array.from(r.prompt) : [];
  if (typeof r.prompt !== 'string') {
    problems.push({ field: 'prompt', message: 'prompt must be a string' });
  } else if (chars.length === 0) {
    problems.push({ field: 'prompt', message: 'prompt is empty' });
  } else if (chars.length > MAX_PROMPT_LENGTH) {
    problems.push({
      field: 'prompt',
      message: `prompt has ${chars.length} characters, at most ${MAX_PROMPT_LENGTH} allowed`,
    });
  } else {
    const bad = [...new Set(chars.filter((c) => !SUPPORTED.has(c)))];
    if (bad.length > 0) {
      const hint = bad.some((c) => SUPPORTED.has(c.toUpperCase())) ? ' (letters are upper case only)' : '';
      problems.push({
        field: 'prompt',
        message: `cannot draw ${bad.map((c) => JSON.stringify(c)).join(', ')}${hint}; ${describeSupported()}`,
      });
    }
  }
  if (!isIntegerIn(r.seed, MIN_SEED, MAX_SEED)) {
    problems.push({
      field: 'seed',
      message: `seed must be an integer from ${MIN_SEED} to ${MAX_SEED} (2^32-1), got ${String(r.seed)}`,
    });
  }
  const width = r.width;
  const height = r.height;
  if (width !== undefined && !isIntegerIn(width, MIN_WIDTH, MAX_WIDTH)) {
    problems.push({
      field: 'width',
      message: `width must be an integer from ${MIN_WIDTH} to ${MAX_WIDTH} pixels, got ${String(width)}`,
    });
  }
  if (height !== undefined && !isIntegerIn(height, MIN_HEIGHT, MAX_HEIGHT)) {
    problems.push({
      field: 'height',
      message: `height must be an integer from ${MIN_HEIGHT} to ${MAX_HEIGHT} pixels, got ${String(height)}`,
    });
  }
  if ((width === undefined) !== (height === undefined)) {
    problems.push({
      field: width === undefined ? 'width' : 'height',
      message: 'give both width and height, or neither',
    });
  } else if (
    isIntegerIn(width, MIN_WIDTH, MAX_WIDTH) &&
    isIntegerIn(height, MIN_HEIGHT, MAX_HEIGHT) &&
    chars.length > 0
  ) {
    const cells = Math.floor(width / CELL_WIDTH) * Math.floor(height / CELL_HEIGHT);
    if (chars.length > cells) {
      problems.push({
        field: 'width',
        message: `${width}x${height} holds ${cells} cells of ${CELL_WIDTH}x${CELL_HEIGHT} pixels, too few for ${chars.length} characters`,
      });
    }
  }
  if (r.temperature !== undefined) {
    const t = r.temperature;
    if (typeof t !== 'number' || !Number.isFinite(t) || t < MIN_TEMPERATURE || t > MAX_TEMPERATURE) {
      problems.push({
        field: 'temperature',
        message: `temperature must be a number from ${MIN_TEMPERATURE} to ${MAX_TEMPERATURE}, got ${String(t)}`,
      });
    }
  }
  if (r.topK !== undefined && !isIntegerIn(r.topK, MIN_TOP_K, MAX_TOP_K)) {
    problems.push({
      field: 'topK',
      message: `topK must be an integer from ${MIN_TOP_K} to ${MAX_TOP_K}, got ${String(r.topK)}`,
    });
  }
  return problems;
}
