/**
 * Limits and fixed geometry of the reference generator. Exported so the API layer can
 * validate requests with the same numbers the generator enforces.
 */

/**
 * Palette index → RGB: paper, then two inks. Each character is written in one ink, chosen
 * by the model when it starts the character and kept from then on.
 */
export const PALETTE: readonly (readonly [number, number, number])[] = [
  [245, 240, 225],
  [28, 36, 64],
  [178, 34, 34],
];
export const PALETTE_SIZE = PALETTE.length;
export const PAPER = 0;
export const INK = 1;
export const RED_INK = 2;

/**
 * Every character is drawn in its own cell. The 5x7 font is rendered at 2x (10x14) with a
 * margin wide enough for the ±1 pixel shifts and bold strokes seen in training.
 */
export const CELL_WIDTH = 14;
export const CELL_HEIGHT = 18;

export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const DIGITS = '0123456789';
export const SYMBOLS = '!#+-./:=?*';
/** Simple shapes are drawn procedurally in training, not from the font. */
export const SHAPES = '■□●○▲';
/** Space draws an empty cell. */
export const SUPPORTED_CHARACTERS = `${LETTERS}${DIGITS}${SYMBOLS}${SHAPES} `;
/** Characters with something to depict (everything but space). */
export const DRAWABLE_CHARACTERS = SUPPORTED_CHARACTERS.slice(0, -1);

export const MAX_PROMPT_LENGTH = 64;
export const MIN_WIDTH = CELL_WIDTH;
export const MIN_HEIGHT = CELL_HEIGHT;
export const MAX_WIDTH = 1024;
export const MAX_HEIGHT = 1024;
/** Default layout wraps after this many cells per line. */
export const DEFAULT_COLUMNS = 16;
export const MIN_SEED = 0;
export const MAX_SEED = 0xffff_ffff;
/** Temperature is used at 1/1000 resolution; 0 means always take the most likely colour. */
export const MIN_TEMPERATURE = 0;
export const MAX_TEMPERATURE = 2;
export const MIN_TOP_K = 1;
export const MAX_TOP_K = PALETTE_SIZE;

/** Tuned with the depiction test: low enough to suppress the speckle noise seen in training. */
export const DEFAULT_TEMPERATURE = 0.5;
export const DEFAULT_TOP_K = 2;
