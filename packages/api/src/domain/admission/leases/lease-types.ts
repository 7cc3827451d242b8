/**
 * The shapes of generation leases (issue 13 §2) shared by the two lease stores (SQLite: the owning
 * process's memory and clock; PostgreSQL: rows counted under a lock with the database's clock),
 * the decision and the service, so neither store knows about the other.
 */
import type { TCapacitySnapshot } from '../../capacity/capacity-snapshot';

/** TTL bounds of a lease, in seconds: a crashed gateway pins a slot for at most an hour. */
export const LEASE_TTL_MIN_SECONDS = 1;
export const LEASE_TTL_MAX_SECONDS = 3600;

export type TLeaseGrant = { id: string; expiresAt: string };

export type TLeaseRefusalReason = 'concurrency_limit' | 'over_capacity' | 'capacity_unknown';

export type TReleaseOutcome = 'done' | 'failed';

/** What the capacity rule reads besides the lease counts: settings, C, shares, the stall threshold. */
export type TCapacityInputs = {
  enabled: boolean;
  snapshot: TCapacitySnapshot | null;
  shares: { tierId: string; tier: string; priority: number; reserved: number }[];
  stallSeconds: number;
};

/** The tier's concurrency bounds (null = unbounded) and fail mode, read where the decision runs. */
export type TTierBounds = { perTier: number | null; perSubject: number | null; failMode: 'open' | 'closed' };

/** Live leases at the decision's moment: per tier id, and the subject's in its tier. */
export type TLeaseCounts = { byTier: Map<string, number>; subject: number };

export type TLeaseVerdict =
  | { admit: true }
  | {
      admit: false;
      reason: TLeaseRefusalReason;
      message: string;
      /** The bound that refused (concurrency), or C (capacity); null when capacity is unknown. */
      limit: number | null;
      retryAfterSeconds: number;
    };

/** One lease consume's acquisition: who, for how long, and the refund nonce its ticket will carry. */
export type TAcquireAttempt = {
  id: string;
  tierId: string;
  tierName: string;
  subject: string;
  cost: number;
  ticketNonce: string;
  ttlSeconds: number;
  now: Date;
  instanceId: string;
  holder: string | null;
  /** Typical lease duration of the tier (ms), for retryAfterSeconds; null: none observed. */
  typicalDurationMs: number | null;
};

export type TAcquireResult =
  { ok: true; grant: TLeaseGrant } | { ok: false; verdict: Exclude<TLeaseVerdict, { admit: true }> };

/** A lease row as release and the refund of a failed one need it. */
export type TLeaseRow = {
  id: string;
  tierId: string;
  subject: string;
  cost: number;
  ticketNonce: string | null;
  consumedAtMin: number;
  createdAtMs: number;
};

export type TLeaseState = 'expired' | 'already_released' | 'unknown';

export type TReleaseAttempt = { id: string; outcome: TReleaseOutcome; now: Date };
export type TReleaseStoreResult =
  { ok: true; row: TLeaseRow; releasedAtMs: number } | { ok: false; state: TLeaseState };

export type THeartbeatAttempt = { id: string; ttlSeconds: number | null; now: Date };
export type THeartbeatStoreResult = { ok: true; expiresAt: string } | { ok: false; state: TLeaseState };

/** Where leases live: the SQLite store or the PostgreSQL store. */
export type TLeaseStore = {
  start(now: Date): Promise<void>;
  /** Decides and, when admitted, records the lease (committed before it resolves). */
  acquire(a: TAcquireAttempt, decide: TDecide): Promise<TAcquireResult>;
  /** Takes back a lease whose consume the quota refused (it never counted as acquired). */
  abandon(req: { id: string; tierId: string }): Promise<void>;
  release(r: TReleaseAttempt): Promise<TReleaseStoreResult>;
  heartbeat(h: THeartbeatAttempt): Promise<THeartbeatStoreResult>;
  /** Marks expired leases once (any instance may run it) and answers how many per tier id. */
  sweep(now: Date): Promise<Map<string, number>>;
  close(): Promise<void>;
};

export type TDecide = (req: {
  bounds: TTierBounds;
  counts: TLeaseCounts;
  capacity: TCapacityInputs;
  now: Date;
}) => TLeaseVerdict;
