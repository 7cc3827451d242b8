/** The audit log as admins page through it, newest first, with filters. */
import type { TDb } from '@coolant/db';

export type TListAuditEventsRequest = {
  db: TDb;
  action?: string | undefined;
  actor?: string | undefined;
  target?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Return events with id below this (pagination, newest first). */
  cursor?: number | undefined;
  limit: number;
};

export async function listAuditEvents(req: TListAuditEventsRequest) {
  const rows = await req.db.auditEvent.findMany({
    where: {
      ...(req.action ? { action: { startsWith: req.action } } : {}),
      ...(req.actor ? { actorName: req.actor } : {}),
      ...(req.target ? { target: req.target } : {}),
      ...(req.since || req.until
        ? { at: { ...(req.since ? { gte: req.since } : {}), ...(req.until ? { lt: req.until } : {}) } }
        : {}),
      ...(req.cursor ? { id: { lt: req.cursor } } : {}),
    },
    orderBy: { id: 'desc' },
    take: req.limit + 1,
  });
  const page = rows.slice(0, req.limit);
  return {
    events: page.map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      actorType: r.actorType,
      actorId: r.actorId,
      actorName: r.actorName,
      action: r.action,
      target: r.target,
      reason: r.reason,
      details: r.details ? (JSON.parse(r.details) as unknown) : null,
      ip: r.ip,
      /** Attempts folded into this row (aggregated anonymous failures); 1 for ordinary events. */
      count: r.count,
    })),
    nextCursor: rows.length > req.limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}
