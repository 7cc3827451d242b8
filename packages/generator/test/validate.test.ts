import { describe, expect, it } from 'vitest';
import {
  generate,
  InvalidGenerateRequestError,
  MAX_PROMPT_LENGTH,
  MAX_SEED,
  MAX_WIDTH,
  SUPPORTED_CHARACTERS,
  validateGenerateRequest,
} from '../src/index';

const fields = (input: unknown) => validateGenerateRequest(input).map((p) => p.field);
const messages = (input: unknown) =>
  validateGenerateRequest(input)
    .map((p) => p.message)
    .join('\n');

describe('validateGenerateRequest', () => {
  it('accepts a minimal and a full request', () => {
    expect(validateGenerateRequest({ prompt: 'OK', seed: 0 })).toEqual([]);
    expect(
      validateGenerateRequest({ prompt: 'HI ■', seed: MAX_SEED, width: 56, height: 18, temperature: 0, topK: 3 }),
    ).toEqual([]);
  });

  it('rejects an empty or missing prompt', () => {
    expect(validateGenerateRequest({ prompt: '', seed: 1 })).toEqual([{ field: 'prompt', message: 'prompt is empty' }]);
    expect(fields({ seed: 1 })).toEqual(['prompt']);
    expect(fields(null)).toEqual(['prompt']);
  });

  it('names a character it cannot draw and lists the supported set', () => {
    const msg = messages({ prompt: 'OK~', seed: 1 });
    expect(msg).toContain('"~"');
    expect(msg).toContain('A-Z, 0-9');
    for (const symbol of '!#+-./:=?*■□●○▲') expect(msg).toContain(symbol);
  });

  it('hints that letters are upper case', () => {
    expect(messages({ prompt: 'ok', seed: 1 })).toMatch(/"o", "k".*upper case/);
  });

  it('counts characters, not UTF-16 units, against the length limit', () => {
    expect(fields({ prompt: '■'.repeat(MAX_PROMPT_LENGTH), seed: 1 })).toEqual([]);
    expect(messages({ prompt: 'A'.repeat(MAX_PROMPT_LENGTH + 1), seed: 1 })).toContain(`at most ${MAX_PROMPT_LENGTH}`);
    expect(messages({ prompt: '😀', seed: 1 })).toContain('"😀"');
  });

  it('rejects seeds outside 0..2^32-1 or not integers', () => {
    for (const seed of [-1, MAX_SEED + 1, 1.5, Number.NaN, '3', undefined]) {
      expect(fields({ prompt: 'A', seed })).toEqual(['seed']);
    }
    expect(messages({ prompt: 'A', seed: -1 })).toContain('0 to 4294967295');
  });

  it('rejects sizes out of range, half-given, or too small for the prompt', () => {
    expect(fields({ prompt: 'A', seed: 1, width: 13, height: 18 })).toEqual(['width']);
    expect(fields({ prompt: 'A', seed: 1, width: 14, height: MAX_WIDTH + 1 })).toEqual(['height']);
    expect(fields({ prompt: 'A', seed: 1, width: 14.5, height: 18 })).toEqual(['width']);
    expect(fields({ prompt: 'A', seed: 1, width: 28 })).toEqual(['height']);
    expect(messages({ prompt: 'ABC', seed: 1, width: 28, height: 18 })).toContain('holds 2 cells');
    // Wrapping onto a second line of cells makes room.
    expect(fields({ prompt: 'ABC', seed: 1, width: 28, height: 36 })).toEqual([]);
  });

  it('rejects temperature and topK out of range', () => {
    expect(fields({ prompt: 'A', seed: 1, temperature: -0.1 })).toEqual(['temperature']);
    expect(fields({ prompt: 'A', seed: 1, temperature: 2.01 })).toEqual(['temperature']);
    expect(fields({ prompt: 'A', seed: 1, temperature: Number.POSITIVE_INFINITY })).toEqual(['temperature']);
    expect(fields({ prompt: 'A', seed: 1, topK: 0 })).toEqual(['topK']);
    expect(fields({ prompt: 'A', seed: 1, topK: 4 })).toEqual(['topK']);
  });

  it('reports every problem at once', () => {
    expect(fields({ prompt: '', seed: -1, topK: 9 })).toEqual(['prompt', 'seed', 'topK']);
  });

  it('is what generate() enforces', () => {
    let caught: unknown;
    try {
      generate({ prompt: 'a', seed: 1 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidGenerateRequestError);
    expect((caught as InvalidGenerateRequestError).problems.map((p) => p.field)).toEqual(['prompt']);
  });

  it('supports A-Z, 0-9, the symbols, the shapes and space', () => {
    expect(SUPPORTED_CHARACTERS).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#+-./:=?*■□●○▲ ');
  });
});
