/**
 * Turns fleet alerts and guard steps into outbox transitions. Run by the one deliverer each tick,
 * it compares what fires now (Alert rows in state firing, the guard's applied steps) with the
 * outbox's open alerts and appends the difference. Derived from those tables rather than hooked
 * into their writers, so every path that changes them counts (an alert resolved by any instance,
 * a step undone by disarm or by an operator, a console that was down meanwhile), and the unique
 * eventIds make a second append of one transition impossible.
 */
import type { TDb } from '@coolant/db';
import { loadGuard } from '../guard/guard-state';
import {
  ALERT_NAMES,
  appendFiring,
  appendResolved,
  GUARD_STEP_ALERTNAME,
  type TFiringEvent,
} from './notification-event';

/** Alerts that fired and resolved while no deliverer ran are caught up this far back. */
const CATCH_UP_MS = 10 * 60_000;

type TAlertRow = {
  id: string;
  kind: string;
  nodeId: string;
  gpuIndex: number | null;
  message: string;
  startedAt: Date;
  firingAt: Date | null;
};

type TNodeInfo = { hostname: string; models: Map<number, string | null> };

async function nodeInfo(db: TDb, ids: string[]): Promise<Map<string, TNodeInfo>> {
  if (ids.length === 0) return new Map();
  const nodes = await db.node.findMany({
    where: { id: { in: [...new Set(ids)] } },
    select: { id: true, hostname: true, gpus: { select: { gpuIndex: true, name: true } } },
  });
  return new Map(
    nodes.map((n) => [n.id, { hostname: n.hostname, models: new Map(n.gpus.map((g) => [g.gpuIndex, g.name])) }]),
  );
}

/**
 * The typed event of a fleet alert: labels operators route on (node, gpu, model), the rule's message
 * as summary. node_id as well, as on /metrics: a hostname is not unique (a re-enrolled host is a new
 * node under the old name), and Alertmanager merges alerts whose labels are equal.
 */
export function alertEvent(req: { alert: TAlertRow; node: TNodeInfo | undefined }): TFiringEvent {
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

async function reconcileAlerts(req: { db: TDb; now: Date; openKeys: Set<string> }): Promise<number> {
  const { db, now } = req;
  let appended = 0;
  const firing = await db.alert.findMany({ where: { state: 'firing' } });
  const firingKeys = new Set(firing.map((a) => `alert:${a.id}`));
  const fresh = firing.filter((a) => !req.openKeys.has(`alert:${a.id}`));
  const ended = [...req.openKeys].filter((k) => k.startsWith('alert:') && !firingKeys.has(k));
  // Resolved (or pruned) since it was announced: the resolution, at the time the alert says.
  const endedRows = await db.alert.findMany({
    where: { id: { in: ended.map((k) => k.slice('alert:'.length)) } },
    select: { id: true, resolvedAt: true },
  });
  const resolvedAt = new Map(endedRows.map((r) => [`alert:${r.id}`, r.resolvedAt]));
  for (const key of ended) {
    if (await appendResolved({ db, alertKey: key, endsAt: resolvedAt.get(key) ?? now, now })) appended++;
  }
  // Fired and resolved while no deliverer ran: both transitions, so the webhook still hears of it.
  const missed = await db.alert.findMany({
    where: { state: 'resolved', firingAt: { not: null }, resolvedAt: { gte: new Date(now.getTime() - CATCH_UP_MS) } },
  });
  const known = new Set(
    (
      await db.notificationEvent.findMany({
        where: { eventId: { in: missed.map((a) => `alert:${a.id}:firing`) } },
        select: { alertKey: true },
      })
    ).map((e) => e.alertKey),
  );
  const unseen = missed.filter((a) => !known.has(`alert:${a.id}`));
  const nodes = await nodeInfo(
    db,
    [...fresh, ...unseen].map((a) => a.nodeId),
  );
  for (const a of fresh) {
    if (await appendFiring({ db, event: alertEvent({ alert: a, node: nodes.get(a.nodeId) }), now })) appended++;
  }
  for (const a of unseen) {
    if (!(await appendFiring({ db, event: alertEvent({ alert: a, node: nodes.get(a.nodeId) }), now }))) continue;
    await appendResolved({ db, alertKey: `alert:${a.id}`, endsAt: a.resolvedAt ?? now, now });
    appended += 2;
  }
  return appended;
}

/** A step the guard holds fires CoolantGuardStep until it is undone (by the guard, a disarm or an operator). */
async function reconcileGuard(req: { db: TDb; now: Date; openKeys: Set<string> }): Promise<number> {
  const { db, now } = req;
  let appended = 0;
  const { runtime } = await loadGuard(db);
  const held = new Map<string, TFiringEvent>();
  for (const [rule, rt] of Object.entries(runtime.rules)) {
    for (const s of rt.steps) {
      if (s.status !== 'applied') continue;
      const at = new Date(s.at);
      const alertKey = `guard:${rule}:${s.step}:${at.getTime()}`;
      const what = `${s.action} ${s.tier}`;
      held.set(alertKey, {
        alertKey,
        alertname: GUARD_STEP_ALERTNAME,
        severity: 'warning',
        labels: { tier: s.tier, rule, action: s.action, step: String(s.step + 1) },
        summary: `guard rule ${rule} holds step ${s.step + 1}: ${what}`,
        description: `The launch-day guard took step ${s.step + 1} of rule ${rule} (${what}) at ${at.toISOString()}; it resolves when the guard steps back (or is disarmed, or an operator undoes it).`,
        nodeId: null,
        startsAt: at,
      });
    }
  }
  for (const key of req.openKeys) {
    if (key.startsWith('guard:') && !held.has(key) && (await appendResolved({ db, alertKey: key, endsAt: now, now })))
      appended++;
  }
  for (const [key, event] of held) {
    if (!req.openKeys.has(key) && (await appendFiring({ db, event, now }))) appended++;
  }
  return appended;
}

/** One pass over both sources; the count of transitions appended. */
export async function reconcileEvents(req: { db: TDb; now: Date }): Promise<number> {
  const open = await req.db.notificationEvent.findMany({ where: { open: true }, select: { alertKey: true } });
  const openKeys = new Set(open.map((e) => e.alertKey));
  return (await reconcileAlerts({ ...req, openKeys })) + (await reconcileGuard({ ...req, openKeys }));
}
