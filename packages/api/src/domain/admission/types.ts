import type { TLimitScope } from '../tiers/limit-scope';
import type { TWindow } from './windows';

export type TAdmissionReason =
  | 'ok'
  | 'tier_paused'
  | 'quota_exceeded'
  // Refused by a limit of the whole tier (scope 'tier'); a subject's own limit refuses with quota_exceeded.
  | 'tier_limit'
  | 'unknown_tier'
  // A consume with a lease (leases/lease-service.ts): no slot for the subject or tier, no room in the fleet, C unknown.
  | 'concurrency_limit'
  | 'over_capacity'
  | 'capacity_unknown';

export type TPolicy = {
  window: TWindow;
  /** Whom the limit counts: this subject, or every subject of the tier together. */
  scope: TLimitScope;
  limit: number;
  remaining: number;
  resetAt: string;
  source: 'base' | 'temporary';
};

export type TConsumeResponse = {
  allowed: boolean;
  reason: TAdmissionReason;
  tier: string;
  /** The binding limit: the one with the fewest units left (or the one that refused). null: no limit applies. */
  limit: number | null;
  remaining: number | null;
  window: TWindow | null;
  /** When the binding window resets (ISO, UTC). */
  resetAt: string | null;
  /** Only when denied: seconds until a retry can succeed (null while paused without a resume time). */
  retryAfterSeconds: number | null;
  /** Only when allowed: hand it to admission.refund if the generation fails. */
  ticket: string | null;
  /** Every limit checked, for the RateLimit headers. */
  policies: TPolicy[];
  pauseReason: string | null;
  configVersion: number;
  /** The slot held on a consume with `lease` (null when refused or none asked for); the router answers null when absent. */
  lease?: { id: string; expiresAt: string } | null;
  /** Why a lease was refused, for people (`free: 3 of 24 slots, reserved 12 %; 2 GPUs hot`). */
  message?: string;
};

/** The first answer to a requestId and what that request was (see idempotency.ts). */
export type TStoredRequest = { response: TConsumeResponse; fingerprint: string };

/** An answer to record for a requestId; `now` is the service's clock (expiry is judged by it). */
export type TRequestRecord = {
  requestId: string;
  fingerprint: string;
  response: TConsumeResponse;
  expiresAt: Date;
  now: Date;
};

/** One limit a consume must fit, resolved to the current window. */
export type TLimitSlot = {
  window: TWindow;
  /** 'tier': counted on the tier's counter of the window, the QuotaCounter row with subject "". */
  scope: TLimitScope;
  startMin: number;
  limit: number;
  resetMs: number;
  source: 'base' | 'temporary';
};

/** `used` per slot: after the increment when ok, the current value when refused. */
export type TStoreOutcome = { ok: boolean; used: number[] };

export type TConsumeAttempt = {
  tierId: string;
  tierName: string;
  subject: string;
  cost: number;
  slots: TLimitSlot[];
  requestId: string | null;
  /** What the requestId names (see idempotency.ts); '' without a requestId. */
  fingerprint: string;
  requestExpiresAt: Date;
  now: Date;
  build(outcome: TStoreOutcome): TConsumeResponse;
};

/** A counter a consume took: the subject's of [window, startMin], or with 'tier' the tier's (subject ""). */
export type TCounterWindow = [TWindow, number] | [TWindow, number, 'tier'];

export type TRefundAttempt = {
  nonce: string;
  expiresAt: Date;
  tierId: string;
  subject: string;
  cost: number;
  windows: TCounterWindow[];
  now: Date;
};

/**
 * Where counters live. `memory` (SQLite, one console process owns the file):
 * decisions in memory, written in one transaction per batch and answered
 * after the commit. `postgresql` (any number of instances): each consume is a
 * transaction of conditional upserts on the shared rows.
 */
export type TAdmissionStore = {
  readonly kind: 'memory' | 'postgresql';
  start(now: Date): Promise<void>;
  lookup(requestId: string, now: Date): Promise<TStoredRequest | null>;
  /**
   * Records the answer to a requestId and resolves with the answer that is
   * recorded: this one, or the one another instance recorded first (CONFLICT
   * when that one was for another request).
   */
  remember(record: TRequestRecord): Promise<TConsumeResponse>;
  consume(attempt: TConsumeAttempt): Promise<TConsumeResponse>;
  /** false when the ticket was refunded before. */
  refund(attempt: TRefundAttempt): Promise<boolean>;
  /** Deletes counters of ended windows and expired idempotency/refund records. */
  prune(now: Date): Promise<{ counters: number }>;
  /** Counter rows and distinct subjects currently held (for the scale benchmark and /metrics). */
  size(): Promise<{ counterRows: number }>;
  close(): Promise<void>;
};
