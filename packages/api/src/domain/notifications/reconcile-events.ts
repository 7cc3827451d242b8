/**
 * Turns fleet alerts and guard steps into outbox transitions. Run by the one deliverer, it compares
 * what fires (Alert rows, the guard's applied steps) with the outbox and appends the difference.
 * Derived from those tables rather than hooked into their writers, so every path that changes them
 * counts (an alert resolved by any instance, a step undone by disarm or an operator, a console that
 * was down meanwhile), and the unique eventIds make a second append of one transition impossible.
 *
 * Cheap while nothing changes: a marker (firing count, newest firingAt and resolvedAt, the guard's
 * seq; index lookups) is read every tick, and only a change reads alerts, and then only those
 * changed since the last marker. A full pass (every alert firing, every open event) runs on taking
 * the lease and every FULL_EVERY_MS, for what a marker cannot see (a writer whose clock is behind).
 */
import type { Prisma, TDb } from '@coolant/db';
import {
  ALERT_NAMES,
  appendFiringMany,
  appendResolvedMany,
  type TFiringEvent,
  type TResolution,
} from './notification-event';
import { reconcileGuard } from './reconcile-guard';

/** Alerts that fired and resolved while no deliverer ran are caught up this far back. */
const CATCH_UP_MS = 10 * 60_000;
/** An incremental pass also reads alerts this much older than the marker (writers' clocks differ). */
const MARKER_SLACK_MS = 5_000;
export const FULL_EVERY_MS = 60_000;
const LOOKUP_CHUNK = 500;

const alertSelect = {
  id: true,
  kind: true,
  nodeId: true,
  gpuIndex: true,
  message: true,
  state: true,
  startedAt: true,
  firingAt: true,
  resolvedAt: true,
} satisfies Prisma.AlertSelect;

type TAlertRow = Prisma.AlertGetPayload<{ select: typeof alertSelect }>;
type TNodeInfo = { hostname: string; models: Map<number, string | null> };

export type TReconcileMarker = {
  firing: number;
  firingAt: number | null;
  resolvedAt: number | null;
  guardSeq: number | null;
};

export async function readReconcileMarker(req: { db: TDb }): Promise<TReconcileMarker> {
  const { db } = req;
  const [firing, fired, resolved, guard] = await Promise.all([
    db.alert.count({ where: { state: 'firing' } }),
    db.alert.findFirst({
      where: { firingAt: { not: null } },
      orderBy: { firingAt: 'desc' },
      select: { firingAt: true },
    }),
    db.alert.findFirst({
      where: { resolvedAt: { not: null } },
      orderBy: { resolvedAt: 'desc' },
      select: { resolvedAt: true },
    }),
    db.guardState.findUnique({ where: { id: 1 }, select: { seq: true } }),
  ]);
  return {
    firing,
    firingAt: fired?.firingAt?.getTime() ?? null,
    resolvedAt: resolved?.resolvedAt?.getTime() ?? null,
    guardSeq: guard?.seq ?? null,
  };
}

function chunked<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += LOOKUP_CHUNK) out.push(items.slice(i, i + LOOKUP_CHUNK));
  return out;
}

async function nodeInfo(db: TDb, ids: string[]): Promise<Map<string, TNodeInfo>> {
  const out = new Map<string, TNodeInfo>();
  for (const chunk of chunked([...new Set(ids)])) {
    const nodes = await db.node.findMany({
      where: { id: { in: chunk } },
      select: { id: true, hostname: true, gpus: { select: { gpuIndex: true, name: true } } },
    });
    for (const n of nodes)
      out.set(n.id, { hostname: n.hostname, models: new Map(n.gpus.map((g) => [g.gpuIndex, g.name])) });
  }
  return out;
}

/**
 * The typed event of a fleet alert: labels operators route on (node, gpu, model), the rule's message
 * as summary. node_id as well, as on /metrics: a hostname is not unique (a re-enrolled host is a new
 * node under the old name), and Alertmanager merges alerts whose labels are equal.
 */
export function alertEvent(req: {
  alert: Omit<TAlertRow, 'state' | 'resolvedAt'>;
  node: TNodeInfo | undefined;
}): TFiringEvent {
  const { alert: a, node } = req;
  const names = ALERT_NAMES[a.kind] ?? { alertname: 'CoolantAlert', severity: 'warning' as const };
  const labels: Record<string, string> = { node: node?.hostname ?? a.nodeId, node_id: a.nodeId };
  if (a.gpuIndex !== null) {
    labels.gpu = String(a.gpuIndex);
    const model = node?.models.get(a.gpuIndex);
    if (model) labels.model = model;
  }
  return {
    alertKey: `alert:${a.id}`,
    alertname: names.alertname,
    severity: names.severity,
    labels,
    summary: a.message,
    description: `Coolant fleet alert ${a.kind} on ${labels.node}${a.gpuIndex === null ? '' : ` GPU ${a.gpuIndex}`}: ${a.message}`,
    nodeId: a.nodeId,
    startsAt: a.firingAt ?? a.startedAt,
  };
}

/** The alerts to look at: every firing one, the recently resolved and the announced ones (full), or the changed ones. */
async function candidates(req: {
  db: TDb;
  now: Date;
  since: TReconcileMarker | null;
}): Promise<{ alerts: TAlertRow[]; gone: string[] }> {
  const { db, now, since } = req;
  if (since) {
    const after = (ms: number | null) => (ms === null ? { not: null } : { gte: new Date(ms - MARKER_SLACK_MS) });
    const alerts = await db.alert.findMany({
      where: { OR: [{ firingAt: after(since.firingAt) }, { resolvedAt: after(since.resolvedAt) }] },
      select: alertSelect,
    });
    return { alerts, gone: [] };
  }
  const [firing, recent, open] = await Promise.all([
    db.alert.findMany({ where: { state: 'firing' }, select: alertSelect }),
    db.alert.findMany({
      where: { resolvedAt: { gte: new Date(now.getTime() - CATCH_UP_MS) }, firingAt: { not: null } },
      select: alertSelect,
    }),
    db.notificationEvent.findMany({
      where: { open: true, alertKey: { startsWith: 'alert:' } },
      select: { alertKey: true },
    }),
  ]);
  const seen = new Map([...firing, ...recent].map((a) => [a.id, a]));
  const unseen = open.map((e) => e.alertKey.slice('alert:'.length)).filter((id) => !seen.has(id));
  for (const chunk of chunked(unseen)) {
    for (const a of await db.alert.findMany({ where: { id: { in: chunk } }, select: alertSelect })) seen.set(a.id, a);
  }
  // Announced and since deleted: resolved now.
  return { alerts: [...seen.values()], gone: unseen.filter((id) => !seen.has(id)) };
}

async function reconcileAlerts(req: { db: TDb; now: Date; since: TReconcileMarker | null }): Promise<number> {
  const { db, now } = req;
  const { alerts, gone } = await candidates(req);
  if (alerts.length === 0 && gone.length === 0) return 0;
  const known = new Map<string, boolean>();
  for (const chunk of chunked(alerts)) {
    const rows = await db.notificationEvent.findMany({
      where: { eventId: { in: chunk.map((a) => `alert:${a.id}:firing`) } },
      select: { alertKey: true, open: true },
    });
    for (const r of rows) known.set(r.alertKey, r.open);
  }
  const ended: TResolution[] = gone.map((id) => ({ alertKey: `alert:${id}`, endsAt: now }));
  const fresh: TAlertRow[] = [];
  const missed: TAlertRow[] = [];
  for (const a of alerts) {
    const key = `alert:${a.id}`;
    const open = known.get(key);
    if (a.state === 'firing') {
      if (open === undefined) fresh.push(a);
    } else if (open) {
      // Resolved (or gone back to pending) since it was announced: the resolution, at the time it says.
      ended.push({ alertKey: key, endsAt: a.resolvedAt ?? now });
    } else if (open === undefined && a.state === 'resolved' && a.firingAt && a.resolvedAt) {
      // Fired and resolved while no deliverer ran: both transitions, so the webhook still hears of it.
      if (a.resolvedAt.getTime() >= now.getTime() - CATCH_UP_MS) missed.push(a);
    }
  }
  const nodes = await nodeInfo(
    db,
    [...fresh, ...missed].map((a) => a.nodeId),
  );
  const event = (a: TAlertRow) => alertEvent({ alert: a, node: nodes.get(a.nodeId) });
  return (
    (await appendResolvedMany({ db, items: ended, now })) +
    (await appendFiringMany({ db, events: [...fresh, ...missed].map(event), now })) +
    (await appendResolvedMany({
      db,
      items: missed.map((a) => ({ alertKey: `alert:${a.id}`, endsAt: a.resolvedAt ?? now })),
      now,
    }))
  );
}

/**
 * One pass; the count of transitions appended. `since`: the marker of the last pass (only what
 * changed after it is read), null for a full pass; `marker`: the one read for this pass.
 */
export async function reconcileEvents(req: {
  db: TDb;
  now: Date;
  since: TReconcileMarker | null;
  marker: TReconcileMarker;
}): Promise<number> {
  const { since, marker } = req;
  const alertsChanged =
    !since ||
    since.firing !== marker.firing ||
    since.firingAt !== marker.firingAt ||
    since.resolvedAt !== marker.resolvedAt;
  const guardChanged = !since || since.guardSeq !== marker.guardSeq;
  // Only the count moved (an alert stamped by a clock behind ours, or deleted): look at all of them.
  const countOnly = !!since && since.firingAt === marker.firingAt && since.resolvedAt === marker.resolvedAt;
  return (
    (alertsChanged ? await reconcileAlerts({ ...req, since: countOnly ? null : since }) : 0) +
    (guardChanged ? await reconcileGuard({ db: req.db, now: req.now }) : 0)
  );
}
