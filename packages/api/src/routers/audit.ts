/** audit.*: the audit log, filtered and paged, for admins. */
import { z } from 'zod';
import { listAuditEvents } from '../domain/audit/list-audit-events';
import { ZIsoDateTime } from '../domain/iso-date-time';
import { outputSchemas } from '../openapi/output-schemas';
import { router, viewerProcedure } from '../trpc';

export const ZListAuditRequest = z.strictObject({
  action: z.string().max(100).optional(),
  actor: z.string().max(100).optional(),
  target: z.string().max(200).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.number().int().positive().nullish(),
  /** Sent by React Query's infinite queries; pages only go backwards in time. */
  direction: z.enum(['forward', 'backward']).optional(),
  limit: z.number().int().min(1).max(500).default(100),
});

export const auditRouter = router({
  list: viewerProcedure.input(ZListAuditRequest.optional()).query(({ ctx, input }) => {
    const i = input ?? ZListAuditRequest.parse({});
    return listAuditEvents({
      db: ctx.db,
      action: i.action,
      actor: i.actor,
      target: i.target,
      since: i.since ? new Date(i.since) : undefined,
      until: i.until ? new Date(i.until) : undefined,
      cursor: i.cursor ?? undefined,
      limit: i.limit,
    });
  }),
});

export const auditOutputs = outputSchemas(auditRouter, {
  list: z.object({
    events: z.array(
      z.object({
        id: z.number().int(),
        at: ZIsoDateTime,
        actorType: z.string(),
        actorId: z.string().nullable(),
        actorName: z.string(),
        action: z.string(),
        target: z.string().nullable(),
        reason: z.string().nullable(),
        details: z.unknown().describe("The action's own facts (JSON), or null"),
        ip: z.string().nullable(),
        count: z.number().int().describe('Attempts folded into this row (aggregated anonymous failures); 1 otherwise'),
      }),
    ),
    nextCursor: z.number().int().nullable().describe('The next page: send it as cursor; null on the last page'),
  }),
});
