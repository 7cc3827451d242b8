/** guard.*: the launch-day guard: its state and history, configuration, arming and drills. */
import { z } from 'zod';
import type { TContext } from '../context';
import type { TPersonActor } from '../domain/actors/actor';
import { armGuard } from '../domain/guard/arm-guard';
import { disarmGuard } from '../domain/guard/disarm-guard';
import { getGuard } from '../domain/guard/get-guard';
import { guardHistory } from '../domain/guard/guard-history';
import type { TGuardRequest } from '../domain/guard/guard-request';
import {
  ZGuardArmResponse,
  ZGuardDisarmResponse,
  ZGuardDrillResponse,
  ZGuardHistoryResponse,
  ZGuardResponse,
  ZGuardUpdateResponse,
} from '../domain/guard/guard-responses';
import { runDrill } from '../domain/guard/run-drill';
import { updateGuard } from '../domain/guard/update-guard';
import { outputSchemas } from '../openapi/output-schemas';
import { adminProcedure, operatorProcedure, router, viewerProcedure } from '../trpc';

const ZReason = z.string().trim().max(500).optional();

/** Who changes the guard, from where: the part every guard mutation shares. */
function by(
  ctx: Pick<TContext, 'db' | 'request'> & { actor: TPersonActor },
  reason: string | undefined,
): TGuardRequest {
  return { db: ctx.db, actor: ctx.actor, ip: ctx.request.ip, reason };
}

export const guardRouter = router({
  get: viewerProcedure.input(z.strictObject({ brief: z.boolean().default(false) }).optional()).query(({ ctx, input }) =>
    getGuard({
      db: ctx.db,
      now: ctx.now(),
      instanceId: ctx.guard.instanceId,
      offlineAfterMs: ctx.offlineAfterMs,
      brief: input?.brief ?? false,
    }),
  ),
  history: viewerProcedure
    .input(
      z
        .strictObject({
          limit: z.number().int().min(1).max(500).default(100),
          kinds: z.array(z.string().max(40)).max(20).optional(),
        })
        .optional(),
    )
    .query(({ ctx, input }) => guardHistory({ db: ctx.db, limit: input?.limit ?? 100, kinds: input?.kinds })),
  // The config is validated by the domain function (it merges the redacted webhook secret first).
  update: adminProcedure
    .input(z.strictObject({ config: z.record(z.string(), z.unknown()), reason: ZReason }))
    .mutation(({ ctx, input }) => updateGuard({ ...by(ctx, input.reason), config: input.config })),
  arm: operatorProcedure
    .input(z.strictObject({ reason: ZReason }).optional())
    .mutation(({ ctx, input }) => armGuard(by(ctx, input?.reason))),
  disarm: operatorProcedure
    .input(z.strictObject({ reason: ZReason, restore: z.boolean().default(true) }).optional())
    .mutation(({ ctx, input }) =>
      disarmGuard({ ...by(ctx, input?.reason), config: ctx.config, now: ctx.now(), restore: input?.restore ?? true }),
    ),
  drill: adminProcedure
    .input(z.strictObject({ live: z.boolean().default(false), tier: z.string().trim().min(1).max(64).optional() }))
    .mutation(({ ctx, input }) =>
      runDrill({ ...by(ctx, undefined), config: ctx.config, clock: ctx.now, live: input.live, tier: input.tier }),
    ),
});

export const guardOutputs = outputSchemas(guardRouter, {
  get: ZGuardResponse,
  history: ZGuardHistoryResponse,
  update: ZGuardUpdateResponse,
  arm: ZGuardArmResponse,
  disarm: ZGuardDisarmResponse,
  drill: ZGuardDrillResponse,
});
