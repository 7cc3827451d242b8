import { describe, expect, it } from 'vitest';
import { parseDuration, parseUntil, UntilError } from '../src/until';

const now = new Date('2026-11-27T22:00:00.000Z');

describe('parseDuration', () => {
  it.each([
    ['45s', 45_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1d12h', 129_600_000],
    ['1.5h', 5_400_000],
    ['2H', 7_200_000],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '2', 'h', '2x', '2 hours', '-1h', '2026-11-28'])('"%s" is not a duration', (text) =>
    expect(parseDuration(text)).toBeNull(),
  );
});

describe('parseUntil', () => {
  it('adds a duration to now', () => {
    expect(parseUntil('2h', now).toISOString()).toBe('2026-11-28T00:00:00.000Z');
  });

  it('takes an ISO date-time with an offset as is', () => {
    expect(parseUntil('2026-11-28T06:00:00Z', now).toISOString()).toBe('2026-11-28T06:00:00.000Z');
    expect(parseUntil('2026-11-28T08:00:00+02:00', now).toISOString()).toBe('2026-11-28T06:00:00.000Z');
  });

  it('reads a date-time without offset as local time', () => {
    expect(parseUntil('2030-01-02T03:04', now).getTime()).toBe(new Date(2030, 0, 2, 3, 4).getTime());
    expect(parseUntil('2030-01-02', now).getTime()).toBe(new Date(2030, 0, 2, 0, 0).getTime());
  });

  it('refuses the past, zero and nonsense, naming the flag', () => {
    expect(() => parseUntil('2020-01-01T00:00:00Z', now)).toThrow(/--until: .* not in the future/);
    expect(() => parseUntil('0m', now)).toThrow('--until: the duration must be more than 0');
    expect(() => parseUntil('soon', now)).toThrow(UntilError);
    expect(() => parseUntil('soon', now)).toThrow(/neither a duration .* nor an ISO date-time/);
    expect(() => parseUntil('2026-13-45T99:00Z', now)).toThrow(/not a valid date-time/);
  });
});
