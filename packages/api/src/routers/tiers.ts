/** tiers.*: tiers, their limits and concurrency, pauses and temporary limits. */
import { z } from 'zod';
import { ZWindow } from '../domain/admission/windows';
import type { TContext } from '../context';
import type { TPersonActor } from '../domain/actors/actor';
import { clearTemporaryLimit } from '../domain/tiers/clear-temporary-limit';
import { createTier } from '../domain/tiers/create-tier';
import { ZLimitScope } from '../domain/tiers/limit-scope';
import { listTiers } from '../domain/tiers/list-tiers';
import { pauseTier } from '../domain/tiers/pause-tier';
import { resumeTier } from '../domain/tiers/resume-tier';
import { NO_BOUND_MESSAGE, setConcurrency } from '../domain/tiers/set-concurrency';
import { setLimit } from '../domain/tiers/set-limit';
import { setTemporaryLimit } from '../domain/tiers/set-temporary-limit';
import type { TTierRequest } from '../domain/tiers/tier-request';
import {
  ZClearTemporaryLimitResponse,
  ZCreateTierResponse,
  ZPauseResponse,
  ZResumeResponse,
  ZSetConcurrencyResponse,
  ZSetLimitResponse,
  ZSetTemporaryLimitResponse,
  ZTiersListResponse,
  ZUpdateTierResponse,
} from '../domain/tiers/tier-responses';
import { updateTier } from '../domain/tiers/update-tier';
import { outputSchemas } from '../openapi/output-schemas';
import { adminProcedure, operatorProcedure, router, viewerProcedure } from '../trpc';

const ZTierName = z
  .string()
  .trim()
  .min(1, 'tier is required')
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _');
const ZReason = z.string().trim().min(1, 'a reason is required').max(500);
const ZLimit = z.number().int('must be a whole number').min(0).max(1_000_000_000);
const ZFailMode = z.enum(['open', 'closed']);
const ZFutureDate = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-11-28T06:00:00Z' })
  .transform((s) => new Date(s));

/** Generations in flight at once; null = unbounded (0 would refuse every lease: use a pause). */
const ZConcurrency = z
  .number({ error: 'must be a positive whole number or null (unbounded)' })
  .int('must be a whole number')
  .min(1, 'must be at least 1 (null = unbounded; to refuse everyone, pause the tier)')
  .max(1_000_000)
  .nullable();

export const ZSetLimitRequest = z.strictObject({
  tier: ZTierName,
  window: ZWindow,
  scope: ZLimitScope.optional(),
  limit: ZLimit.nullable(),
  reason: z.string().max(500).optional(),
});
export const ZSetTemporaryLimitRequest = z.strictObject({
  tier: ZTierName,
  window: ZWindow,
  scope: ZLimitScope.optional(),
  limit: ZLimit,
  until: ZFutureDate,
  reason: ZReason,
});
export const ZClearTemporaryLimitRequest = z.strictObject({
  tier: ZTierName,
  window: ZWindow,
  scope: ZLimitScope.optional(),
  reason: z.string().max(500).optional(),
});
export const ZSetConcurrencyRequest = z
  .strictObject({
    tier: ZTierName,
    /** Omitted: left as it is. */
    perTier: ZConcurrency.optional(),
    perSubject: ZConcurrency.optional(),
    reason: z.string().max(500).optional(),
  })
  .refine((v) => v.perTier !== undefined || v.perSubject !== undefined, { message: NO_BOUND_MESSAGE });
export const ZPauseRequest = z.strictObject({ tier: ZTierName, reason: ZReason, resumeAt: ZFutureDate.optional() });

/** Who changes the tier, from where, now: the part every tier change shares. */
function by(ctx: Pick<TContext, 'config' | 'now' | 'request'> & { actor: TPersonActor }): TTierRequest {
  return { config: ctx.config, actor: ctx.actor, now: ctx.now(), ip: ctx.request.ip };
}

export const tiersRouter = router({
  list: viewerProcedure
    .input(z.strictObject({ includeRetired: z.boolean().default(false) }).optional())
    .query(({ ctx, input }) =>
      listTiers({ db: ctx.db, now: ctx.now(), includeRetired: input?.includeRetired ?? false }),
    ),
  setLimit: adminProcedure.input(ZSetLimitRequest).mutation(({ ctx, input }) => setLimit({ ...by(ctx), ...input })),
  setTemporaryLimit: operatorProcedure
    .input(ZSetTemporaryLimitRequest)
    .mutation(({ ctx, input }) => setTemporaryLimit({ ...by(ctx), ...input })),
  clearTemporaryLimit: operatorProcedure
    .input(ZClearTemporaryLimitRequest)
    .mutation(({ ctx, input }) => clearTemporaryLimit({ ...by(ctx), ...input })),
  setConcurrency: adminProcedure
    .input(ZSetConcurrencyRequest)
    .mutation(({ ctx, input }) => setConcurrency({ ...by(ctx), ...input })),
  pause: operatorProcedure.input(ZPauseRequest).mutation(({ ctx, input }) => pauseTier({ ...by(ctx), ...input })),
  resume: operatorProcedure
    .input(z.strictObject({ tier: ZTierName, reason: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) => resumeTier({ ...by(ctx), ...input })),
  create: adminProcedure
    .input(
      z.strictObject({
        name: ZTierName,
        failMode: ZFailMode.default('closed'),
        reason: z.string().max(500).optional(),
      }),
    )
    .mutation(({ ctx, input }) => createTier({ ...by(ctx), ...input })),
  update: adminProcedure
    .input(
      z.strictObject({
        tier: ZTierName,
        name: ZTierName.optional(),
        failMode: ZFailMode.optional(),
        retired: z.boolean().optional(),
        reason: z.string().max(500).optional(),
      }),
    )
    .mutation(({ ctx, input }) => updateTier({ ...by(ctx), ...input })),
});

export const tiersOutputs = outputSchemas(tiersRouter, {
  list: ZTiersListResponse,
  setLimit: ZSetLimitResponse,
  setTemporaryLimit: ZSetTemporaryLimitResponse,
  clearTemporaryLimit: ZClearTemporaryLimitResponse,
  setConcurrency: ZSetConcurrencyResponse,
  pause: ZPauseResponse,
  resume: ZResumeResponse,
  create: ZCreateTierResponse,
  update: ZUpdateTierResponse,
});
