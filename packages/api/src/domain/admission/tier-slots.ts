// The limits in force for a tier as slots resolved to the current windows, cached: building them
// (effective limits, window starts, ISO reset times) on every decision cost more than the decision.
import { dateAt } from '../../lib/clock';
import { effectiveLimits, type TTierConfig } from './config-snapshot';
import type { TLimitSlot } from './types';
import { windowResetMs, windowStartMin } from './windows';

/**
 * The subject a slot's counter is kept under: the consume's own, or "" for a tier-scope limit (all
 * subjects of the tier together; a consume's subject is never empty, see ZConsumeRequest).
 */
export const TIER_SUBJECT = '';

export function counterSubject(slot: TLimitSlot, subject: string): string {
  return slot.scope === 'tier' ? TIER_SUBJECT : subject;
}

/** A tier's slots while they hold, with each reset time already as the ISO string answers carry. */
export type TSlots = { fromMs: number; untilMs: number; slots: TLimitSlot[]; resetAt: string[] };

/**
 * The same array for every decision on a tier until a minute boundary or a temporary limit's
 * expiry (whichever is first): the config snapshot replaces the tier object on any change, so the
 * cache (keyed by that object) follows it. Stores only read slots.
 */
export class TierSlots {
  private readonly cache = new WeakMap<TTierConfig, TSlots>();

  get(req: { tier: TTierConfig; nowMs: number }): TSlots {
    const { tier, nowMs } = req;
    const cached = this.cache.get(tier);
    if (cached && nowMs >= cached.fromMs && nowMs < cached.untilMs) return cached;
    let untilMs = (Math.floor(nowMs / 60_000) + 1) * 60_000;
    const slots: TLimitSlot[] = effectiveLimits(tier, dateAt(nowMs)).map((l) => {
      if (l.until) untilMs = Math.min(untilMs, l.until.getTime());
      const startMin = windowStartMin(l.window, nowMs);
      const resetMs = windowResetMs(l.window, startMin);
      return { window: l.window, scope: l.scope, startMin, limit: l.limit, resetMs, source: l.source };
    });
    const entry = {
      fromMs: Math.floor(nowMs / 60_000) * 60_000,
      untilMs,
      slots,
      resetAt: slots.map((sl) => new Date(sl.resetMs).toISOString()),
    };
    this.cache.set(tier, entry);
    return entry;
  }
}
