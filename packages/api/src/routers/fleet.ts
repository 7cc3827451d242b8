/** fleet.*: the fleet list, one node's page, revoking a node and the alert rules. */
import { z } from 'zod';
import { readAlertRules, updateAlertRules, ZAlertRules } from '../domain/fleet/alerts';
import { getFleetNode } from '../domain/fleet/fleet-node';
import { listFleet } from '../domain/fleet/fleet-queries';
import { ZFleetListResponse, ZFleetNodeResponse, ZRevokeNodeResponse } from '../domain/fleet/fleet-responses';
import { revokeNode } from '../domain/nodes/revoke-node';
import { outputSchemas } from '../openapi/output-schemas';
import { adminProcedure, router, viewerProcedure } from '../trpc';

export const fleetRouter = router({
  list: viewerProcedure
    .input(z.strictObject({ includeRevoked: z.boolean().default(false) }).optional())
    .query(({ ctx, input }) =>
      listFleet({
        db: ctx.db,
        now: ctx.now(),
        offlineAfterMs: ctx.offlineAfterMs,
        includeRevoked: input?.includeRevoked ?? false,
      }),
    ),
  node: viewerProcedure
    .input(z.strictObject({ id: z.string().min(1) }))
    .query(({ ctx, input }) =>
      getFleetNode({ db: ctx.db, id: input.id, now: ctx.now(), offlineAfterMs: ctx.offlineAfterMs }),
    ),
  revokeNode: adminProcedure
    .input(z.strictObject({ id: z.string().min(1), reason: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) =>
      revokeNode({ config: ctx.config, actor: ctx.actor, ...input, ip: ctx.request.ip, now: ctx.now() }),
    ),
  alertRules: viewerProcedure.query(({ ctx }) => readAlertRules({ db: ctx.db })),
  setAlertRules: adminProcedure
    .input(z.strictObject({ rules: ZAlertRules, reason: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) => updateAlertRules({ db: ctx.db, actor: ctx.actor, ...input, ip: ctx.request.ip })),
});

export const fleetOutputs = outputSchemas(fleetRouter, {
  list: ZFleetListResponse,
  node: ZFleetNodeResponse,
  revokeNode: ZRevokeNodeResponse,
  // The schema the rules are validated and stored with.
  alertRules: ZAlertRules,
  setAlertRules: ZAlertRules,
});
