const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?[smhd])+$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;

/** "90m", "2h", "1d12h", "45s" → milliseconds; null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const s = text.trim().toLowerCase();
  if (!DURATION.test(s)) return null;
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

export class UntilError extends Error {
  override name = 'UntilError';
}

/**
 * `--until`: a duration from now ("2h") or an ISO 8601 date-time
 * ("2026-11-28T06:00:00Z"; without an offset it is this machine's local
 * time). Always a point in the future.
 */
export function parseUntil(text: string, now: Date, flag = '--until'): Date {
  const s = text.trim();
  const ms = parseDuration(s);
  let at: Date;
  if (ms !== null) {
    if (ms <= 0) throw new UntilError(`${flag}: the duration must be more than 0`);
    at = new Date(now.getTime() + ms);
  } else if (DATE_TIME.test(s)) {
    // Date-only strings parse as UTC midnight in JS but date-times without an offset as local time; make both local.
    at = new Date(s.length === 10 ? `${s}T00:00` : s.replace(' ', 'T'));
  } else {
    throw new UntilError(
      `${flag}: "${text}" is neither a duration (30m, 2h, 1d) nor an ISO date-time (2026-11-28T06:00:00Z)`,
    );
  }
  if (Number.isNaN(at.getTime())) throw new UntilError(`${flag}: "${text}" is not a valid date-time`);
  if (at.getTime() <= now.getTime()) throw new UntilError(`${flag}: ${at.toISOString()} is not in the future`);
  return at;
}
