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
  const policies: TPolicy[] = slots.map((s, i) => ({
    window: s.window,
    scope: s.scope,
    limit: s.limit,
    remaining: Math.max(0, s.limit - outcome.used[i]!),
    resetAt: b.resetAt[i]!,
    source: s.source,
  }));
  const base = { tier: b.tier.name, configVersion: b.version, pauseReason: null, policies };
  if (outcome.ok) {
    // The binding limit is the one with the fewest units left; on a tie, the one that resets last.
    // No limit at all: nothing binds (an empty slot list is always ok).
    let k = -1;
    slots.forEach((s, i) => {
      const r = policies[i]!.remaining;
      if (k < 0 || r < policies[k]!.remaining || (r === policies[k]!.remaining && s.resetMs > slots[k]!.resetMs)) k = i;
    });
    const binding = k < 0 ? null : { slot: slots[k]!, policy: policies[k]! };
    return {
      ...base,
      allowed: true,
      reason: 'ok',
      limit: binding?.slot.limit ?? null,
      remaining: binding?.policy.remaining ?? null,
      window: binding?.slot.window ?? null,
      resetAt: binding?.policy.resetAt ?? null,
      retryAfterSeconds: null,
      ticket: issueTicket(b),
    };
  }
  // Refused: a retry succeeds only once every refusing window has reset. On a tie, the subject's
  // own limit (first in the slots) is the one named.
  let k = -1;
  slots.forEach((s, i) => {
    if (outcome.used[i]! + b.req.cost > s.limit && (k < 0 || s.resetMs > slots[k]!.resetMs)) k = i;
  });
  const s = slots[k]!;
  return {
    ...base,
    allowed: false,
    reason: s.scope === 'tier' ? 'tier_limit' : 'quota_exceeded',
    limit: s.limit,
    remaining: policies[k]!.remaining,
    window: s.window,
    resetAt: policies[k]!.resetAt,
    retryAfterSeconds: Math.max(1, Math.ceil((s.resetMs - b.now.getTime()) / 1000)),
    ticket: null,
  };
}

/**
 * The signed ticket naming the counters this admission took (a tier-scope limit's marked 'tier', so
 * a refund gives back to both scopes); it expires with the longest window.
 */
function issueTicket(b: TBuildResponse): string {
  let e = b.now.getTime();
  for (const s of b.slots) if (s.resetMs > e) e = s.resetMs;
  return encodeTicket({
    key: b.ticketKey,
    payload: {
      v: 1,
      n: b.nonce || newNonce(),
      t: b.tier.id,
      s: b.req.subject,
      c: b.req.cost,
      w: b.slots.map((s): TCounterWindow =>
        s.scope === 'tier' ? [s.window, s.startMin, 'tier'] : [s.window, s.startMin],
      ),
      e,
    },
  });
}
