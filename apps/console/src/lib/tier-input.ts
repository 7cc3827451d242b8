/**
 * Client-side checks that mirror the server's zod schemas (packages/api
 * src/routers/tiers.ts), so an operator learns what is wrong before a round
 * trip. The server checks again and its message is shown when it refuses.
 */

export type TChecked<T> = { ok: true; value: T } | { ok: false; error: string };

const TIER_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const MAX_LIMIT = 1_000_000_000;
const MAX_REASON = 500;

export function checkTierName(raw: string, field = 'name'): TChecked<string> {
  const name = raw.trim();
  if (!name) return { ok: false, error: `${field}: is required` };
  if (name.length > 64) return { ok: false, error: `${field}: at most 64 characters` };
  if (!TIER_NAME.test(name))
    return { ok: false, error: `${field}: lowercase letters, digits, - and _ (starting with a letter or digit)` };
  return { ok: true, value: name };
}

/** `allowNone`: an empty field (or "none") removes a base limit. */
export function checkLimit(raw: string, opts: { allowNone: boolean }): TChecked<number | null> {
  const text = raw.trim();
  if (text === '' || text.toLowerCase() === 'none') {
    return opts.allowNone ? { ok: true, value: null } : { ok: false, error: 'limit: is required' };
  }
  if (!/^\d+$/.test(text)) return { ok: false, error: 'limit: must be a whole number ≥ 0' };
  const n = Number(text);
  if (n > MAX_LIMIT) return { ok: false, error: `limit: at most ${MAX_LIMIT.toLocaleString('en-US')}` };
  return { ok: true, value: n };
}

const MAX_CONCURRENCY = 1_000_000;

/** Generations in flight at once: a whole number ≥ 1, or empty / "none" / "unbounded" for no bound (null). */
export function checkConcurrency(raw: string, field: string): TChecked<number | null> {
  const text = raw.trim().toLowerCase();
  if (text === '' || text === 'none' || text === 'unbounded') return { ok: true, value: null };
  if (!/^\d+$/.test(text)) return { ok: false, error: `${field}: must be a whole number ≥ 1 (empty: unbounded)` };
  const n = Number(text);
  if (n < 1)
    return { ok: false, error: `${field}: must be at least 1 (empty: unbounded; to refuse everyone, pause the tier)` };
  if (n > MAX_CONCURRENCY) return { ok: false, error: `${field}: at most ${MAX_CONCURRENCY.toLocaleString('en-US')}` };
  return { ok: true, value: n };
}

export function checkReason(raw: string, opts: { required: boolean }): TChecked<string | undefined> {
  const reason = raw.trim();
  if (!reason)
    return opts.required ? { ok: false, error: 'reason: a reason is required' } : { ok: true, value: undefined };
  if (reason.length > MAX_REASON) return { ok: false, error: `reason: at most ${MAX_REASON} characters` };
  return { ok: true, value: reason };
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?[smhd])+$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;

/** "90m", "2h", "1d12h" → milliseconds; null when it is not a duration. */
export function parseDuration(raw: string): number | null {
  const text = raw.trim().toLowerCase().replace(/\s+/g, '');
  if (!DURATION.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/**
 * A point in the future given as a duration from now ("2h") or a date-time
 * ("2026-11-28T06:00Z"; without an offset it is the browser's local time).
 */
export function checkUntil(raw: string, nowMs: number, field = 'until'): TChecked<Date> {
  const text = raw.trim();
  if (!text) return { ok: false, error: `${field}: is required (a duration like 2h or a date-time)` };
  const ms = parseDuration(text);
  let at: Date;
  if (ms !== null) {
    if (ms <= 0) return { ok: false, error: `${field}: the duration must be more than 0` };
    at = new Date(nowMs + ms);
  } else if (DATE_TIME.test(text)) {
    const withTime = text.length === 10 ? `${text}T00:00` : text.replace(' ', 'T');
    at = new Date(withTime);
  } else {
    return { ok: false, error: `${field}: use a duration like 30m, 2h, 1d or a date-time like 2026-11-28T06:00` };
  }
  if (Number.isNaN(at.getTime())) return { ok: false, error: `${field}: not a valid date-time` };
  if (at.getTime() <= nowMs) return { ok: false, error: `${field}: must be in the future` };
  return { ok: true, value: at };
}
