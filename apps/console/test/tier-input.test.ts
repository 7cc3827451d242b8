/** The browser's checks of a concurrency bound, which mirror tiers.setConcurrency's schema (null = unbounded). */
import { describe, expect, it } from 'vitest';
import { checkConcurrency } from '../src/lib/tier-input';

describe('checkConcurrency', () => {
  it('reads empty, "none" and "unbounded" as no bound', () => {
    for (const raw of ['', '  ', 'none', 'Unbounded'])
      expect(checkConcurrency(raw, 'per user')).toEqual({ ok: true, value: null });
  });
  it('takes whole numbers from 1 to 1,000,000', () => {
    expect(checkConcurrency(' 400 ', 'whole tier')).toEqual({ ok: true, value: 400 });
    expect(checkConcurrency('1000000', 'whole tier')).toEqual({ ok: true, value: 1_000_000 });
  });
  it('refuses 0, fractions, text and too large a bound, naming the field', () => {
    expect(checkConcurrency('0', 'per user')).toEqual({
      ok: false,
      error: 'per user: must be at least 1 (empty: unbounded; to refuse everyone, pause the tier)',
    });
    expect(checkConcurrency('1.5', 'per user')).toEqual({
      ok: false,
      error: 'per user: must be a whole number ≥ 1 (empty: unbounded)',
    });
    expect(checkConcurrency('-3', 'whole tier')).toMatchObject({ ok: false });
    expect(checkConcurrency('1000001', 'whole tier')).toEqual({ ok: false, error: 'whole tier: at most 1,000,000' });
  });
});
