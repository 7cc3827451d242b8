/**
 * The capacity rule of issue 13, as a pure function of (C, shares, in-flight), so its cases are
 * pinned by unit tests beside it and the admission path (next round) calls it inside the lease
 * transaction with counts it has locked. Nothing here reads a clock or a database.
 *
 * With in(t) the tier's leases in flight and R(t) = ceil(reserved(t) x C), a new lease for t is
 * admitted when the fleet has room (sum in < C) and either in(t) < R(t) (within its reservation)
 * or sum in + H(t) < C, where H(t) = sum over tiers u of higher priority of max(0, R(u) - in(u)):
 * a tier may borrow what higher tiers are not using, never the part they reserved and have not
 * used yet. Admitted work is never revoked: when C shrinks this only refuses new leases, so tiers
 * drain to their new shares as their leases end. Equal priorities are not "higher": tiers of one
 * priority may borrow each other's unused reservation (exactly as the issue states the rule).
 */

export type TTierLoad = {
  tier: string;
  /** Higher value = higher priority. */
  priority: number;
  /** Fraction 0..1 of C kept for the tier. */
  reserved: number;
  /** Leases of the tier in flight now. */
  inflight: number;
};

export type TCapacityDecision = {
  admit: boolean;
  /** Why: within its reservation, borrowing unused capacity, or the refusal's cause. */
  basis: 'reservation' | 'borrowed' | 'fleet_full' | 'higher_tiers_reserved';
  slots: number;
  totalInflight: number;
  /** R(t). */
  reservedSlots: number;
  /** H(t). */
  higherHeadroom: number;
  /** Leases that must end before this tier's next lease fits (0 when admitted). */
  needed: number;
};

/** ceil(reserved x C), immune to float noise: 0.1 x 30 is 3.0000000000000004 and must read 3. */
export function reservedSlots(reserved: number, slots: number): number {
  return Math.ceil(Math.round(reserved * slots * 1e9) / 1e9);
}

/** The rule for one new lease of `tier`; a tier absent from `tiers` has priority 0, reserved 0, nothing in flight. */
export function decideCapacity(req: { slots: number; tiers: readonly TTierLoad[]; tier: string }): TCapacityDecision {
  const { slots } = req;
  const own = req.tiers.find((t) => t.tier === req.tier) ?? { tier: req.tier, priority: 0, reserved: 0, inflight: 0 };
  const others = req.tiers.filter((t) => t.tier !== req.tier);
  const totalInflight = own.inflight + others.reduce((s, t) => s + t.inflight, 0);
  const R = reservedSlots(own.reserved, slots);
  const H = others
    .filter((u) => u.priority > own.priority)
    .reduce((s, u) => s + Math.max(0, reservedSlots(u.reserved, slots) - u.inflight), 0);
  const base = { slots, totalInflight, reservedSlots: R, higherHeadroom: H };
  if (!(totalInflight < slots)) {
    return { ...base, admit: false, basis: 'fleet_full', needed: Math.floor(totalInflight - slots) + 1 };
  }
  if (own.inflight < R) return { ...base, admit: true, basis: 'reservation', needed: 0 };
  if (totalInflight + H < slots) return { ...base, admit: true, basis: 'borrowed', needed: 0 };
  return { ...base, admit: false, basis: 'higher_tiers_reserved', needed: Math.floor(totalInflight + H - slots) + 1 };
}

/** Median of the observed lease durations (ms), or null with none observed. */
export function typicalDurationMs(durationsMs: readonly number[]): number | null {
  if (durationsMs.length === 0) return null;
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Without any observed lease, a refused caller is told to come back after this long. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;
export const MAX_RETRY_AFTER_SECONDS = 300;

/**
 * When the refused tier's lease would likely fit: `inflight` leases of typical duration d end at
 * about inflight / d per unit of time (Little's law), and `needed` of them must end first, so
 * about needed x d / inflight. At least 1 s, at most 5 min.
 */
export function estimateRetryAfterSeconds(req: {
  needed: number;
  inflight: number;
  typicalDurationMs: number | null;
}): number {
  if (req.typicalDurationMs === null || req.inflight <= 0) return DEFAULT_RETRY_AFTER_SECONDS;
  const seconds = (Math.max(1, req.needed) * req.typicalDurationMs) / req.inflight / 1000;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(seconds)));
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** C may be fractional (hot GPUs count a fraction): one decimal at most. */
export function formatSlots(slots: number): string {
  return String(Math.round(slots * 10) / 10);
}

/** The refusal's message: `free: 3 of 24 slots, reserved 12 %; 2 GPUs hot, 1 node offline`. */
export function describeCapacity(req: {
  tier: string;
  inflight: number;
  slots: number;
  reserved: number;
  hotGpus: number;
  nodesOffline: number;
}): string {
  const head = `${req.tier}: ${req.inflight} of ${formatSlots(req.slots)} slots, reserved ${Math.round(req.reserved * 100)} %`;
  const fleet = [
    req.hotGpus > 0 ? `${plural(req.hotGpus, 'GPU', 'GPUs')} hot` : null,
    req.nodesOffline > 0 ? `${plural(req.nodesOffline, 'node', 'nodes')} offline` : null,
  ].filter((p): p is string => p !== null);
  return fleet.length ? `${head}; ${fleet.join(', ')}` : head;
}
