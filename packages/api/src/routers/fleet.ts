import { z } from 'zod';
import { getNode, listNodes, revokeNode } from '../domain/nodes/list-nodes';
import { adminProcedure, router, viewerProcedure } from '../trpc';

export const fleetRouter = router({
  list: viewerProcedure
    .input(z.strictObject({ includeRevoked: z.boolean().default(false) }).optional())
    .query(({ ctx, input }) => listNodes({ db: ctx.db, now: ctx.now(), includeRevoked: input?.includeRevoked ?? false })),
  node: viewerProcedure.input(z.strictObject({ id: z.string().min(1) })).query(({ ctx, input }) => getNode({ db: ctx.db, id: input.id, now: ctx.now() })),
  revokeNode: adminProcedure
    .input(z.strictObject({ id: z.string().min(1), reason: z.string().max(500).optional() }))
    .mutation(async ({ ctx, input }) => {
      const result = await revokeNode({ db: ctx.db, actor: ctx.actor, ...input, ip: ctx.request.ip, now: ctx.now() });
      await ctx.config.announce();
      return result;
    }),
});
