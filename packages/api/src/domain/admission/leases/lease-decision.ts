/**
 * Whether one more lease of a tier may start, from counts the caller holds still (SQLite: one
 * process, no await in between; PostgreSQL: under the lock of the acquire transaction): the
 * tier's concurrency bounds first (reason concurrency_limit), then, when capacity admission is
 * enabled, the capacity rule of capacity-rule.ts (over_capacity), or the tier's failMode when C
 * is unknown. Pure, so both stores decide alike and the cases are testable without a database.
 */
import {
  decideCapacity,
  describeCapacity,
  estimateRetryAfterSeconds,
  DEFAULT_RETRY_AFTER_SECONDS,
  type TTierLoad,
} from '../../capacity/capacity-rule';
import { capacityState } from '../../capacity/capacity-snapshot';
import type { TCapacityInputs, TLeaseCounts, TLeaseVerdict, TTierBounds } from './lease-types';

export function decideLease(req: {
  tierId: string;
  tierName: string;
  bounds: TTierBounds;
  counts: TLeaseCounts;
  capacity: TCapacityInputs;
  now: Date;
  typicalDurationMs: number | null;
}): TLeaseVerdict {
  const { bounds, counts, tierName } = req;
  const tierInflight = counts.byTier.get(req.tierId) ?? 0;
  const retry = (needed: number, inflight: number) =>
    estimateRetryAfterSeconds({ needed, inflight, typicalDurationMs: req.typicalDurationMs });
  if (bounds.perSubject !== null && counts.subject >= bounds.perSubject) {
    return {
      admit: false,
      reason: 'concurrency_limit',
      message: `${tierName}: this subject has ${counts.subject} of ${bounds.perSubject} generations in flight (per subject)`,
      limit: bounds.perSubject,
      retryAfterSeconds: retry(counts.subject - bounds.perSubject + 1, counts.subject),
    };
  }
  if (bounds.perTier !== null && tierInflight >= bounds.perTier) {
    return {
      admit: false,
      reason: 'concurrency_limit',
      message: `${tierName}: ${tierInflight} of ${bounds.perTier} generations in flight (per tier)`,
      limit: bounds.perTier,
      retryAfterSeconds: retry(tierInflight - bounds.perTier + 1, tierInflight),
    };
  }
  const cap = req.capacity;
  const state = capacityState({
    enabled: cap.enabled,
    snapshot: cap.snapshot,
    now: req.now,
    stallSeconds: cap.stallSeconds,
  });
  if (state.state === 'off') return { admit: true };
  if (state.state === 'unknown') {
    // As when Coolant cannot answer at all: the tier's failMode says whether to serve.
    if (bounds.failMode === 'open') return { admit: true };
    return {
      admit: false,
      reason: 'capacity_unknown',
      message: `${tierName}: fleet capacity unknown (${state.why}); the tier fails closed`,
      limit: null,
      retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
    };
  }
  const loads = new Map<string, TTierLoad>();
  for (const s of cap.shares)
    loads.set(s.tierId, { tier: s.tier, priority: s.priority, reserved: s.reserved, inflight: 0 });
  // Every tier's leases take slots, whether or not it has a share (then priority 0, nothing reserved).
  for (const [tierId, n] of counts.byTier) {
    const l = loads.get(tierId);
    if (l) l.inflight = n;
    else
      loads.set(tierId, {
        tier: tierId === req.tierId ? tierName : `#${tierId}`,
        priority: 0,
        reserved: 0,
        inflight: n,
      });
  }
  if (!loads.has(req.tierId)) loads.set(req.tierId, { tier: tierName, priority: 0, reserved: 0, inflight: 0 });
  const own = loads.get(req.tierId)!;
  own.tier = tierName;
  const d = decideCapacity({ slots: state.slots, tiers: [...loads.values()], tier: tierName });
  if (d.admit) return { admit: true };
  const snap = cap.snapshot!;
  return {
    admit: false,
    reason: 'over_capacity',
    message: describeCapacity({
      tier: tierName,
      inflight: own.inflight,
      slots: state.slots,
      reserved: own.reserved,
      hotGpus: snap.hotGpus,
      nodesOffline: snap.nodesOffline,
    }),
    limit: state.slots,
    // The fleet's leases end at about total/d per unit of time; `needed` of them must end first.
    retryAfterSeconds: retry(d.needed, d.totalInflight),
  };
}
