/** capacity.get (viewer) and capacity.configure (admin, audited): fleet-aware admission's settings and shares. */
import { ZConfigureCapacity } from '../domain/capacity/capacity-config';
import { configureCapacity } from '../domain/capacity/configure-capacity';
import { getCapacity } from '../domain/capacity/get-capacity';
import { adminProcedure, router, viewerProcedure } from '../trpc';

export const capacityRouter = router({
  get: viewerProcedure.query(({ ctx }) =>
    getCapacity({ db: ctx.db, now: ctx.now(), instanceId: ctx.config.instanceId, offlineAfterMs: ctx.offlineAfterMs }),
  ),
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
