/** audit.*: the audit log, filtered and paged, for admins. */
import { z } from 'zod';
import { listAuditEvents } from '../domain/audit/list-audit-events';
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
