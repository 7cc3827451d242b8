import { z } from 'zod';
import { armGuard, disarmGuard, getGuard, guardHistory, runDrill, updateGuard } from '../domain/guard/guard-queries';
import { adminProcedure, operatorProcedure, router, viewerProcedure } from '../trpc';

const ZReason = z.string().trim().max(500).optional();

export const guardRouter = router({
  get: viewerProcedure
    .input(z.strictObject({ brief: z.boolean().default(false) }).optional())
    .query(({ ctx, input }) => getGuard(ctx, { brief: input?.brief ?? false })),
  history: viewerProcedure
    .input(z.strictObject({ limit: z.number().int().min(1).max(500).default(100), kinds: z.array(z.string().max(40)).max(20).optional() }).optional())
    .query(({ ctx, input }) => guardHistory(ctx.db, { limit: input?.limit ?? 100, kinds: input?.kinds })),
  // The config is validated by the domain function (it merges the redacted webhook secret first).
  update: adminProcedure
    .input(z.strictObject({ config: z.record(z.string(), z.unknown()), reason: ZReason }))
    .mutation(({ ctx, input }) => updateGuard(ctx, { config: input.config as never, reason: input.reason })),
  arm: operatorProcedure.input(z.strictObject({ reason: ZReason }).optional()).mutation(({ ctx, input }) => armGuard(ctx, { reason: input?.reason })),
  disarm: operatorProcedure
    .input(z.strictObject({ reason: ZReason, restore: z.boolean().default(true) }).optional())
    .mutation(({ ctx, input }) => disarmGuard(ctx, { reason: input?.reason, restore: input?.restore ?? true })),
  drill: adminProcedure
    .input(z.strictObject({ live: z.boolean().default(false), tier: z.string().trim().min(1).max(64).optional() }))
    .mutation(({ ctx, input }) => runDrill(ctx, input)),
});
