/**
 * Coolant's answers as they travel (plain JSON, tRPC's envelope), declared here rather than imported
 * from @coolant/api so that a gateway's bundle never pulls in the server. test/wire-types.ts pins
 * them against the server's own types, and the integration test against its real answers.
 */

export type TAdmissionReason =
  | 'ok'
  | 'tier_paused'
  | 'quota_exceeded'
  | 'tier_limit'
  | 'unknown_tier'
  | 'concurrency_limit'
  | 'over_capacity'
  | 'capacity_unknown';

export type TWindow = 'minute' | 'hour' | 'day';

export type TPolicy = {
  window: TWindow;
  scope: 'subject' | 'tier';
  limit: number;
  remaining: number;
  resetAt: string;
  source: 'base' | 'temporary';
};

/** `admission.consume`'s answer (`lease` is null when none was asked for or it was refused). */
export type TConsumeAnswer = {
  allowed: boolean;
  reason: TAdmissionReason;
  tier: string;
  limit: number | null;
  remaining: number | null;
  window: TWindow | null;
  resetAt: string | null;
  retryAfterSeconds: number | null;
  ticket: string | null;
  policies: TPolicy[];
  pauseReason: string | null;
  configVersion: number;
  lease?: { id: string; expiresAt: string } | null;
  message?: string;
};

export type TReleaseAnswer = {
  released: boolean;
  reason: 'ok' | 'already_released' | 'expired';
  outcome: 'done' | 'failed';
  refunded: boolean | null;
  message: string;
};

/** `admission.refund`'s answer: the ticket's units given back once, or why not. */
export type TRefundAnswer = { refunded: boolean; reason: 'ok' | 'already_refunded' | 'window_ended' };

export type THeartbeatAnswer = {
  extended: boolean;
  reason: 'ok' | 'already_released' | 'expired';
  expiresAt: string | null;
  message: string;
};

export type TFailMode = 'open' | 'closed';

/** The part of `tiers.list` the gateway reads. */
export type TTiersListAnswer = { tiers: { name: string; failMode: TFailMode }[] };

/** tRPC's error JSON. */
export type TWireError = { message: string; code?: number; data?: { code?: string; httpStatus?: number } };
