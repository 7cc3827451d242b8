import { z } from 'zod';
import { ZWindow } from '../domain/admission/windows';
import { clearTemporaryLimit, setLimit, setTemporaryLimit } from '../domain/tiers/change-limits';
import { listTiers } from '../domain/tiers/list-tiers';
import { createTier, updateTier } from '../domain/tiers/manage-tiers';
import { pauseTier, resumeTier } from '../domain/tiers/pause-tier';
import { adminProcedure, operatorProcedure, router, viewerProcedure } from '../trpc';

const ZTierName = z.string().trim().min(1, 'tier is required').max(64).regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _');
const ZReason = z.string().trim().min(1, 'a reason is required').max(500);
const ZLimit = z.number().int('must be a whole number').min(0).max(1_000_000_000);
const ZFailMode = z.enum(['open', 'closed']);
const ZFutureDate = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-11-28T06:00:00Z' }).transform((s) => new Date(s));

export const ZSetLimitRequest = z.strictObject({ tier: ZTierName, window: ZWindow, limit: ZLimit.nullable(), reason: z.string().max(500).optional() });
export const ZSetTemporaryLimitRequest = z.strictObject({ tier: ZTierName, window: ZWindow, limit: ZLimit, until: ZFutureDate, reason: ZReason });
export const ZPauseRequest = z.strictObject({ tier: ZTierName, reason: ZReason, resumeAt: ZFutureDate.optional() });

export const tiersRouter = router({
  list: viewerProcedure
    .input(z.strictObject({ includeRetired: z.boolean().default(false) }).optional())
    .query(({ ctx, input }) => listTiers({ db: ctx.db, now: ctx.now(), includeRetired: input?.includeRetired ?? false })),
  setLimit: adminProcedure.input(ZSetLimitRequest).mutation(({ ctx, input }) => setLimit(ctx, input)),
  setTemporaryLimit: operatorProcedure.input(ZSetTemporaryLimitRequest).mutation(({ ctx, input }) => setTemporaryLimit(ctx, input)),
  clearTemporaryLimit: operatorProcedure
    .input(z.strictObject({ tier: ZTierName, window: ZWindow, reason: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) => clearTemporaryLimit(ctx, input)),
  pause: operatorProcedure.input(ZPauseRequest).mutation(({ ctx, input }) => pauseTier(ctx, input)),
  resume: operatorProcedure
    .input(z.strictObject({ tier: ZTierName, reason: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) => resumeTier(ctx, input)),
  create: adminProcedure
    .input(z.strictObject({ name: ZTierName, failMode: ZFailMode.default('closed'), reason: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) => createTier(ctx, input)),
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
    .mutation(({ ctx, input }) => updateTier(ctx, input)),
});
