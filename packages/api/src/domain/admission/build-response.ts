// The answer to a consume, from the store's outcome: which limit binds, what is left, when to retry,
// and the refund ticket of an admission. Pure functions, so both stores build answers the same way.
import type { TTierConfig } from './config-snapshot';
import { encodeTicket, newNonce } from './tickets';
import type { TConsumeResponse, TCounterWindow, TLimitSlot, TPolicy, TStoreOutcome } from './types';

export type TConsumeRequest = {
  tier: string;
  subject: string;
  cost: number;
  requestId?: string | undefined;
  /** Also take a generation lease (leases/lease-service.ts). */
  lease?: { ttlSeconds: number } | undefined;
  /** Who asks (the gateway token's name), recorded on the lease. */
  holder?: string | undefined;
};

export type TBuildResponse = {
  tier: TTierConfig;
  req: TConsumeRequest;
  slots: TLimitSlot[];
  /** slots[i]'s reset time as ISO text (see tier-slots.ts). */
  resetAt: string[];
  outcome: TStoreOutcome;
  now: Date;
  version: number;
  ticketKey: Buffer;
  /** The ticket's nonce when the caller must know it first (a lease records it); else a new one. */
  nonce?: string | undefined;
};

export function buildResponse(b: TBuildResponse): TConsumeResponse {
  const { slots, outcome } = b;
  const policies: TPolicy[] = new Array<TPolicy>(slots.length);
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    policies[i] = {
      window: s.window,
      scope: s.scope,
      limit: s.limit,
      remaining: Math.max(0, s.limit - outcome.used[i]!),
      resetAt: b.resetAt[i]!,
      source: s.source,
    };
  }
  // One object literal per answer, keys in the order the answer has always had (the JSON is the
  // same): spreading a shared base into each cost more than the decision (measured). `lease` is
  // null here (none held): the lease service answers a copy with its lease in that last place, and
  // the router no longer has to copy every answer to add it.
  if (outcome.ok) {
    // The binding limit is the one with the fewest units left; on a tie, the one that resets last.
    // No limit at all: nothing binds (an empty slot list is always ok).
    let k = -1;
    for (let i = 0; i < slots.length; i++) {
      const r = policies[i]!.remaining;
      if (
        k < 0 ||
        r < policies[k]!.remaining ||
        (r === policies[k]!.remaining && slots[i]!.resetMs > slots[k]!.resetMs)
      )
        k = i;
    }
    const slot = k < 0 ? null : slots[k]!;
    const policy = k < 0 ? null : policies[k]!;
    return {
      tier: b.tier.name,
      configVersion: b.version,
      pauseReason: null,
      policies,
      allowed: true,
      reason: 'ok',
      limit: slot ? slot.limit : null,
      remaining: policy ? policy.remaining : null,
      window: slot ? slot.window : null,
      resetAt: policy ? policy.resetAt : null,
      retryAfterSeconds: null,
      ticket: issueTicket(b),
      lease: null,
    };
  }
  // Refused: a retry succeeds only once every refusing window has reset. On a tie, the subject's
  // own limit (first in the slots) is the one named.
  let k = -1;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (outcome.used[i]! + b.req.cost > s.limit && (k < 0 || s.resetMs > slots[k]!.resetMs)) k = i;
  }
  const s = slots[k]!;
  return {
    tier: b.tier.name,
    configVersion: b.version,
    pauseReason: null,
    policies,
    allowed: false,
    reason: s.scope === 'tier' ? 'tier_limit' : 'quota_exceeded',
    limit: s.limit,
    remaining: policies[k]!.remaining,
    window: s.window,
    resetAt: policies[k]!.resetAt,
    retryAfterSeconds: Math.max(1, Math.ceil((s.resetMs - b.now.getTime()) / 1000)),
    ticket: null,
    lease: null,
  };
}

/**
 * The signed ticket naming the counters this admission took (a tier-scope limit's marked 'tier', so
 * a refund gives back to both scopes); it expires with the longest window.
 */
function issueTicket(b: TBuildResponse): string {
  let e = b.now.getTime();
  const w: TCounterWindow[] = new Array<TCounterWindow>(b.slots.length);
  for (let i = 0; i < b.slots.length; i++) {
    const s = b.slots[i]!;
    if (s.resetMs > e) e = s.resetMs;
    w[i] = s.scope === 'tier' ? [s.window, s.startMin, 'tier'] : [s.window, s.startMin];
  }
  return encodeTicket({
    key: b.ticketKey,
    payload: { v: 1, n: b.nonce || newNonce(), t: b.tier.id, s: b.req.subject, c: b.req.cost, w, e },
  });
}
