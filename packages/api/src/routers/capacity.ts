/**
 * capacity.get and capacity.history (viewer), capacity.configure (admin, audited, reason optional;
 * shares replaced whole or, with sharesMode "merge", only the tiers named):
 * fleet-aware admission's settings and shares, and what the Capacity page charts.
 */
import { ZConfigureCapacity } from '../domain/capacity/capacity-config';
import {
  ZCapacityHistoryResponse,
  ZCapacityResponse,
  ZConfigureCapacityResponse,
} from '../domain/capacity/capacity-responses';
import { configureCapacity } from '../domain/capacity/configure-capacity';
import { getCapacity } from '../domain/capacity/get-capacity';
import { getCapacityHistory, ZCapacityHistoryRequest } from '../domain/capacity/capacity-history';
import { outputSchemas } from '../openapi/output-schemas';
import { adminProcedure, router, viewerProcedure } from '../trpc';

export const capacityRouter = router({
  get: viewerProcedure.query(({ ctx }) =>
    getCapacity({ db: ctx.db, now: ctx.now(), instanceId: ctx.config.instanceId, offlineAfterMs: ctx.offlineAfterMs }),
  ),
  history: viewerProcedure
    .input(ZCapacityHistoryRequest)
    .query(({ ctx, input }) => getCapacityHistory({ db: ctx.db, now: ctx.now(), minutes: input.minutes })),
  configure: adminProcedure.input(ZConfigureCapacity).mutation(({ ctx, input }) =>
    configureCapacity({
      ...input,
      db: ctx.db,
      config: ctx.config,
      actor: ctx.actor,
      now: ctx.now(),
      instanceId: ctx.config.instanceId,
      offlineAfterMs: ctx.offlineAfterMs,
      ip: ctx.request.ip,
    }),
  ),
});

export const capacityOutputs = outputSchemas(capacityRouter, {
  get: ZCapacityResponse,
  history: ZCapacityHistoryResponse,
  configure: ZConfigureCapacityResponse,
});
