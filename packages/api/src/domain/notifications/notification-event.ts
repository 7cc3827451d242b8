/**
 * The typed event fleet alerts and guard steps hand the notifier, and the outbox rows it becomes:
 * one per transition, its eventId unique, so a second append of the same transition (another
 * instance, a retry after a crash) is refused by the database instead of delivered twice.
 */
import type { Prisma, TDb, TDbTx } from '@coolant/db';

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

/** Rows appended per statement (and per transaction for resolutions). */
const APPEND_CHUNK = 200;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += APPEND_CHUNK) out.push(items.slice(i, i + APPEND_CHUNK));
  return out;
}

function firingRow(e: TFiringEvent, now: Date) {
  return {
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
    createdAt: now,
  };
}

/** Appends the firing row (open until its resolution). False when it was appended before. */
export async function appendFiring(req: { db: TDb | TDbTx; event: TFiringEvent; now: Date }): Promise<boolean> {
  return req.db.notificationEvent.create({ data: firingRow(req.event, req.now) }).then(
    () => true,
    () => false,
  );
}

/**
 * Appends many firing rows, one statement per chunk, in the order given. A chunk of which another
 * writer appended a row first (its eventId is unique) is retried one row at a time. The count appended.
 */
export async function appendFiringMany(req: { db: TDb; events: TFiringEvent[]; now: Date }): Promise<number> {
  let appended = 0;
  for (const chunk of chunks(req.events)) {
    try {
      appended += (await req.db.notificationEvent.createMany({ data: chunk.map((e) => firingRow(e, req.now)) })).count;
    } catch {
      for (const event of chunk) if (await appendFiring({ db: req.db, event, now: req.now })) appended++;
    }
  }
  return appended;
}

const resolvedSource = {
  seq: true,
  alertKey: true,
  alertname: true,
  severity: true,
  labels: true,
  summary: true,
  description: true,
  nodeId: true,
  startsAt: true,
} satisfies Prisma.NotificationEventSelect;

function resolvedRow(
  firing: Prisma.NotificationEventGetPayload<{ select: typeof resolvedSource }>,
  endsAt: Date,
  now: Date,
  description?: string,
) {
  return {
    eventId: `${firing.alertKey}:resolved`,
    alertKey: firing.alertKey,
    status: 'resolved',
    open: false,
    alertname: firing.alertname,
    severity: firing.severity,
    labels: firing.labels,
    summary: firing.summary,
    description: description ?? firing.description,
    nodeId: firing.nodeId,
    startsAt: firing.startsAt,
    endsAt: endsAt < firing.startsAt ? firing.startsAt : endsAt,
    createdAt: now,
  };
}

export type TResolution = { alertKey: string; endsAt: Date };

/**
 * Appends the resolutions of many open alerts, in the order given, one transaction per chunk
 * (closing the firing rows and appending the resolved ones). A chunk that raced another writer is
 * rolled back and retried one alert at a time. The count appended.
 */
export async function appendResolvedMany(req: { db: TDb; items: TResolution[]; now: Date }): Promise<number> {
  let appended = 0;
  for (const chunk of chunks(req.items)) {
    try {
      appended += await req.db.$transaction(async (tx) => {
        const rows = await tx.notificationEvent.findMany({
          where: { eventId: { in: chunk.map((i) => `${i.alertKey}:firing`) }, open: true },
          select: resolvedSource,
        });
        if (rows.length === 0) return 0;
        const closed = await tx.notificationEvent.updateMany({
          where: { seq: { in: rows.map((r) => r.seq) }, open: true },
          data: { open: false },
        });
        if (closed.count !== rows.length) throw new Error('another writer closed some of them meanwhile');
        const byKey = new Map(rows.map((r) => [r.alertKey, r]));
        const data = chunk.flatMap((i) => {
          const firing = byKey.get(i.alertKey);
          return firing ? [resolvedRow(firing, i.endsAt, req.now)] : [];
        });
        await tx.notificationEvent.createMany({ data });
        return data.length;
      });
    } catch {
      for (const i of chunk)
        if (await appendResolved({ db: req.db, alertKey: i.alertKey, endsAt: i.endsAt, now: req.now })) appended++;
    }
  }
  return appended;
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
      const firing = await tx.notificationEvent.findFirst({
        where: { eventId: `${req.alertKey}:firing`, open: true },
        select: resolvedSource,
      });
      if (!firing) return false;
      const closed = await tx.notificationEvent.updateMany({
        where: { seq: firing.seq, open: true },
        data: { open: false },
      });
      if (closed.count !== 1) return false;
      await tx.notificationEvent.create({ data: resolvedRow(firing, req.endsAt, req.now, req.description) });
      return true;
    })
    .catch(() => false);
}
