/**
 * The typed event fleet alerts and guard steps hand the notifier, and the outbox rows it becomes:
 * one per transition, its eventId unique, so a second append of the same transition (another
 * instance, a retry after a crash) is refused by the database instead of delivered twice.
 */
import type { TDb, TDbTx } from '@coolant/db';

export type TSeverity = 'critical' | 'warning' | 'info';

/** An alert that started firing; its resolution is appended later under the same alertKey and labels. */
export type TFiringEvent = {
  /** The alert both transitions belong to ("alert:<Alert.id>", "guard:<rule>:<step>:<ms>"). */
  alertKey: string;
  alertname: string;
  severity: TSeverity;
  labels: Record<string, string>;
  summary: string;
  description: string;
  nodeId: string | null;
  startsAt: Date;
};

/** Fleet alert kinds (Alert.kind, fleet/alerts.ts) and the names operators route on. */
export const ALERT_NAMES: Record<string, { alertname: string; severity: TSeverity }> = {
  gpu_hot: { alertname: 'CoolantGpuHot', severity: 'critical' },
  node_offline: { alertname: 'CoolantNodeOffline', severity: 'critical' },
  gpu_missing: { alertname: 'CoolantGpuMissing', severity: 'warning' },
  collector_failing: { alertname: 'CoolantCollectorFailing', severity: 'warning' },
};
export const GUARD_STEP_ALERTNAME = 'CoolantGuardStep';
export const TEST_ALERTNAME = 'CoolantTestAlert';

export function parseLabels(json: string): Record<string, string> {
  try {
    const v = JSON.parse(json) as unknown;
    if (!v || typeof v !== 'object') return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

/** Appends the firing row (open until its resolution). False when it was appended before. */
export async function appendFiring(req: { db: TDb | TDbTx; event: TFiringEvent; now: Date }): Promise<boolean> {
  const e = req.event;
  return req.db.notificationEvent
    .create({
      data: {
        eventId: `${e.alertKey}:firing`,
        alertKey: e.alertKey,
        status: 'firing',
        open: true,
        alertname: e.alertname,
        severity: e.severity,
        labels: JSON.stringify({ alertname: e.alertname, severity: e.severity, ...e.labels }),
        summary: e.summary,
        description: e.description,
        nodeId: e.nodeId,
        startsAt: e.startsAt,
        createdAt: req.now,
      },
    })
    .then(
      () => true,
      () => false,
    );
}

/**
 * Appends the resolution of an open alert with its firing row's labels (Alertmanager matches the
 * two by labels) and closes the firing row, in one transaction.
 */
export async function appendResolved(req: {
  db: TDb;
  alertKey: string;
  endsAt: Date;
  now: Date;
  description?: string;
}): Promise<boolean> {
  return req.db
    .$transaction(async (tx) => {
      const firing = await tx.notificationEvent.findUnique({ where: { eventId: `${req.alertKey}:firing` } });
      if (!firing || !firing.open) return false;
      const closed = await tx.notificationEvent.updateMany({
        where: { seq: firing.seq, open: true },
        data: { open: false },
      });
      if (closed.count !== 1) return false;
      await tx.notificationEvent.create({
        data: {
          eventId: `${req.alertKey}:resolved`,
          alertKey: req.alertKey,
          status: 'resolved',
          open: false,
          alertname: firing.alertname,
          severity: firing.severity,
          labels: firing.labels,
          summary: firing.summary,
          description: req.description ?? firing.description,
          nodeId: firing.nodeId,
          startsAt: firing.startsAt,
          endsAt: req.endsAt < firing.startsAt ? firing.startsAt : req.endsAt,
          createdAt: req.now,
        },
      });
      return true;
    })
    .catch(() => false);
}
