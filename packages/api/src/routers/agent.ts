import { z } from 'zod';
import { enrollNode } from '../domain/nodes/enroll-node';
import { recordReport } from '../domain/nodes/record-report';
import { agentProcedure, publicProcedure, router } from '../trpc';

export const ZEnrollRequest = z.strictObject({
  enrollToken: z.string().min(1, 'enrollToken is required').max(512),
  hostname: z.string().trim().min(1).max(253),
  agentVersion: z.string().max(64).optional(),
  os: z.string().max(200).optional(),
});

export const ZReportRequest = z.strictObject({
  seq: z.number().int().positive(),
  agentVersion: z.string().max(64).optional(),
  sentAt: z.iso.datetime({ offset: true }).optional(),
});
export type TReportRequest = z.infer<typeof ZReportRequest>;

export const agentRouter = router({
  /** Public: the caller proves itself with the enrollment secret in the input. */
  enroll: publicProcedure.input(ZEnrollRequest).mutation(async ({ ctx, input }) =>
    enrollNode({
      db: ctx.db,
      enrollmentSecret: await ctx.enrollmentSecret(),
      presentedSecret: input.enrollToken,
      hostname: input.hostname,
      agentVersion: input.agentVersion ?? null,
      os: input.os ?? null,
      ip: ctx.request.ip,
    }),
  ),
  report: agentProcedure.input(ZReportRequest).mutation(({ ctx, input }) =>
    recordReport({ db: ctx.db, nodeId: ctx.actor.id, seq: input.seq, agentVersion: input.agentVersion ?? null, now: ctx.now() }),
  ),
});
