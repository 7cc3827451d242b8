/**
 * What admission.* answers, as zod schemas for the OpenAPI document (the
 * TypeScript types stay in types.ts and the lease service; routers/admission.ts
 * holds these to them at compile time). Documentation only: the hot path
 * sends the handler's value as it is, never parsed.
 */
import { z } from 'zod';
import { ZLimitScope } from '../tiers/limit-scope';
import { ZIsoDateTime } from '../iso-date-time';
import { ZWindow } from './windows';

const ZPolicy = z.object({
  window: ZWindow,
  scope: ZLimitScope.describe('Whom the limit counts: this subject, or every subject of the tier together'),
  limit: z.number().int(),
  remaining: z.number().int(),
  resetAt: ZIsoDateTime,
  source: z.enum(['base', 'temporary']),
});

export const ZConsumeResponse = z.object({
  allowed: z.boolean(),
  reason: z.enum([
    'ok',
    'tier_paused',
    'quota_exceeded',
    'tier_limit',
    'unknown_tier',
    'concurrency_limit',
    'over_capacity',
    'capacity_unknown',
  ]),
  tier: z.string(),
  limit: z
    .number()
    .int()
    .nullable()
    .describe('The binding limit: the one with the fewest units left (or the one that refused); null: none applies'),
  remaining: z.number().int().nullable(),
  window: ZWindow.nullable(),
  resetAt: ZIsoDateTime.nullable().describe('When the binding window resets'),
  retryAfterSeconds: z
    .number()
    .nullable()
    .describe('Only when refused: seconds until a retry can succeed (null while paused without a resume time)'),
  ticket: z.string().nullable().describe('Only when allowed: hand it to admission.refund if the generation fails'),
  policies: z.array(ZPolicy).describe('Every limit checked (the RateLimit headers)'),
  pauseReason: z.string().nullable(),
  configVersion: z.number().int(),
  lease: z
    .object({ id: z.string(), expiresAt: ZIsoDateTime })
    .nullable()
    .optional()
    .describe('The generation lease held when one was asked for (null: refused, or none asked for)'),
  message: z.string().optional().describe('Why a lease was refused, for people'),
});

export const ZRefundResponse = z.object({
  refunded: z.boolean(),
  reason: z.enum(['ok', 'already_refunded', 'window_ended']),
});

const ZLeaseEnd = z.enum(['ok', 'already_released', 'expired']);

export const ZReleaseResponse = z.object({
  released: z.boolean(),
  reason: ZLeaseEnd,
  outcome: z.enum(['done', 'failed']),
  refunded: z
    .boolean()
    .nullable()
    .describe('For failed: whether this release gave the quota back (false: refunded before by ticket); null for done'),
  message: z.string(),
});

export const ZHeartbeatResponse = z.object({
  extended: z.boolean(),
  reason: ZLeaseEnd,
  expiresAt: ZIsoDateTime.nullable(),
  message: z.string(),
});
