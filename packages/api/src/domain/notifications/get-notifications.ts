/**
 * notifications.get: the config as admins may see it (never the webhook secret), each configured
 * channel's delivery state with what is still pending, and the alerts active now (the outbox's
 * open events), the shape the Notifications page renders and notifications.configure answers.
 */
import type { Prisma, TDb, TDbTx } from '@coolant/db';
import { readNotificationConfig, redactNotificationConfig, type TChannel } from './notification-config';
import { parseLabels, type TSeverity } from './notification-event';

export type TChannelStatus = {
  lastAttemptAt: string | null;
  lastSuccessAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  consecutiveFailures: number;
  nextAttemptAt: string | null;
  /** Events not yet delivered to this channel. */
  pending: number;
};

export type TActiveAlert = {
  alertname: string;
  severity: TSeverity;
  labels: Record<string, string>;
  summary: string;
  startsAt: string;
};

export type TNotificationsView = {
  version: number;
  updatedAt: string | null;
  updatedBy: string | null;
  alertmanager: { url: string } | null;
  webhook: { url: string; secretSet: true } | null;
  delivery: { alertmanager: TChannelStatus | null; webhook: TChannelStatus | null };
  active: TActiveAlert[];
};

const channelSelect = {
  fromSeq: true,
  lastAttemptAt: true,
  lastSuccessAt: true,
  lastStatus: true,
  lastError: true,
  consecutiveFailures: true,
  nextAttemptAt: true,
} satisfies Prisma.NotificationChannelSelect;

/** Events of the channel (seq above its fromSeq) it has not accepted yet. */
export function pendingWhere(req: { channel: TChannel; fromSeq: number }): Prisma.NotificationEventWhereInput {
  return req.channel === 'webhook'
    ? { seq: { gt: req.fromSeq }, webhookAt: null }
    : { seq: { gt: req.fromSeq }, alertmanagerAt: null };
}

export async function channelStatus(req: { db: TDb | TDbTx; channel: TChannel }): Promise<TChannelStatus> {
  const row = await req.db.notificationChannel.findUnique({ where: { channel: req.channel }, select: channelSelect });
  const fromSeq = row?.fromSeq ?? 0;
  const pending = await req.db.notificationEvent.count({ where: pendingWhere({ channel: req.channel, fromSeq }) });
  return {
    lastAttemptAt: row?.lastAttemptAt?.toISOString() ?? null,
    lastSuccessAt: row?.lastSuccessAt?.toISOString() ?? null,
    lastStatus: row?.lastStatus ?? null,
    lastError: row?.lastError ?? null,
    consecutiveFailures: row?.consecutiveFailures ?? 0,
    nextAttemptAt: row?.nextAttemptAt?.toISOString() ?? null,
    pending,
  };
}

export async function listActiveAlerts(req: { db: TDb | TDbTx }): Promise<TActiveAlert[]> {
  const open = await req.db.notificationEvent.findMany({
    where: { open: true },
    orderBy: { seq: 'asc' },
    select: { alertname: true, severity: true, labels: true, summary: true, startsAt: true },
  });
  return open.map((e) => ({
    alertname: e.alertname,
    severity: e.severity as TSeverity,
    labels: parseLabels(e.labels),
    summary: e.summary,
    startsAt: e.startsAt.toISOString(),
  }));
}

export async function getNotifications(req: { db: TDb | TDbTx }): Promise<TNotificationsView> {
  const config = await readNotificationConfig(req);
  return {
    version: config.version,
    updatedAt: config.updatedAt?.toISOString() ?? null,
    updatedBy: config.updatedBy,
    ...redactNotificationConfig(config),
    delivery: {
      alertmanager: config.alertmanager ? await channelStatus({ db: req.db, channel: 'alertmanager' }) : null,
      webhook: config.webhook ? await channelStatus({ db: req.db, channel: 'webhook' }) : null,
    },
    active: await listActiveAlerts(req),
  };
}
