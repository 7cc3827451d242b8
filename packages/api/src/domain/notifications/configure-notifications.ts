/**
 * notifications.configure: the one writer of NotificationConfig. The config, its version bump, the
 * channels' delivery rows and the audit row commit in one transaction. A channel that is removed
 * keeps its row (counters monotonic for /metrics, what is pending for it) and drops out of delivery.
 * The audit row shows each URL's origin and a hash of it only: audit.list is a viewer procedure, and
 * a Slack incoming-webhook URL is itself a credential.
 */
import type { TDb, TDbTx } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { actorName, type TPersonActor } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import { pendingWhere } from './get-notifications';
import {
  auditNotificationConfig,
  CHANNELS,
  readNotificationConfig,
  type TChannel,
  type TConfigureNotificationsInput,
  type TNotificationConfig,
} from './notification-config';

export type TConfigureNotificationsRequest = TConfigureNotificationsInput & {
  db: TDb;
  actor: TPersonActor;
  now: Date;
  ip?: string | null | undefined;
};

type TChannelChange = { resumed?: number; openAlerts?: number };

/**
 * A channel configured for the first time starts after the outbox's last event (it is not flooded
 * with history), except that the webhook gets the alerts open now as firing (else it would hear
 * their resolution only); the events in between are marked skipped. A channel configured again
 * after a removal keeps what is pending for it, what happened meanwhile included, and says how much.
 */
async function startChannel(req: { tx: TDbTx; channel: TChannel; now: Date }): Promise<TChannelChange> {
  const { tx, channel } = req;
  const reset = { consecutiveFailures: 0, nextAttemptAt: null, lastError: null, lastStatus: null };
  const row = await tx.notificationChannel.findUnique({ where: { channel }, select: { fromSeq: true } });
  if (row) {
    await tx.notificationChannel.update({ where: { channel }, data: { ...reset, generation: { increment: 1 } } });
    return { resumed: await tx.notificationEvent.count({ where: pendingWhere({ channel, fromSeq: row.fromSeq }) }) };
  }
  const last = (await tx.notificationEvent.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } }))?.seq ?? 0;
  let fromSeq = last;
  let openAlerts = 0;
  if (channel === 'webhook') {
    const first = await tx.notificationEvent.findFirst({
      where: { open: true },
      orderBy: { seq: 'asc' },
      select: { seq: true },
    });
    if (first) {
      fromSeq = first.seq - 1;
      await tx.notificationEvent.updateMany({
        where: { seq: { gt: fromSeq, lte: last }, open: false, webhookAt: null },
        data: { webhookAt: req.now },
      });
      openAlerts = await tx.notificationEvent.count({ where: { seq: { gt: fromSeq }, open: true } });
    }
  }
  await tx.notificationChannel.create({ data: { channel, fromSeq } });
  return openAlerts ? { openAlerts } : {};
}

export async function configureNotifications(req: TConfigureNotificationsRequest): Promise<TNotificationConfig> {
  return req.db.$transaction(async (tx) => {
    const before = await readNotificationConfig({ db: tx });
    if (req.expectedVersion !== undefined && req.expectedVersion !== before.version) {
      throw new AppError(
        'CONFLICT',
        `expectedVersion: the notification config is at version ${before.version}, not ${req.expectedVersion} (changed by ${before.updatedBy ?? 'someone'} since); reload and try again`,
      );
    }
    let webhook: TNotificationConfig['webhook'] = null;
    if (req.webhook) {
      const secret = req.webhook.secret ?? before.webhook?.secret;
      if (!secret) {
        throw new AppError(
          'BAD_REQUEST',
          'webhook.secret: required (at least 16 characters) when no webhook is stored yet; it may be omitted only to keep a stored one',
        );
      }
      webhook = { url: req.webhook.url, secret };
    }
    const after: TNotificationConfig = {
      version: before.version + 1,
      updatedAt: req.now,
      updatedBy: actorName(req.actor),
      alertmanager: req.alertmanager ? { url: req.alertmanager.url } : null,
      webhook,
    };
    const data = {
      version: after.version,
      alertmanagerUrl: after.alertmanager?.url ?? null,
      webhookUrl: after.webhook?.url ?? null,
      webhookSecret: after.webhook?.secret ?? null,
      updatedAt: req.now,
      updatedBy: after.updatedBy,
    };
    if (before.version === 0) {
      await tx.notificationConfig.create({ data: { id: 1, ...data } }).catch(() => {
        throw new AppError('CONFLICT', 'the notification config changed meanwhile; reload and try again');
      });
    } else {
      const r = await tx.notificationConfig.updateMany({ where: { id: 1, version: before.version }, data });
      if (r.count !== 1)
        throw new AppError('CONFLICT', 'the notification config changed meanwhile; reload and try again');
    }
    const changes: Partial<Record<TChannel, TChannelChange>> = {};
    for (const channel of CHANNELS) {
      const was = before[channel];
      const now = after[channel];
      const moved =
        was?.url !== now?.url || (channel === 'webhook' && before.webhook?.secret !== after.webhook?.secret);
      if (now && !was) changes[channel] = await startChannel({ tx, channel, now: req.now });
      else if (moved)
        // A new address (or secret) is tried at once: the old one's backoff says nothing about it. The
        // generation tells a delivery pass begun before this not to write its result over the new state.
        await tx.notificationChannel.updateMany({
          where: { channel },
          data: { consecutiveFailures: 0, nextAttemptAt: null, generation: { increment: 1 } },
        });
    }
    const resumed = Object.fromEntries(
      CHANNELS.flatMap((c) => (changes[c]?.resumed !== undefined ? [[c, changes[c].resumed]] : [])),
    );
    const openAlerts = Object.fromEntries(
      CHANNELS.flatMap((c) => (changes[c]?.openAlerts ? [[c, changes[c].openAlerts]] : [])),
    );
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'notifications.configure',
      target: 'notifications',
      reason: req.reason || null,
      details: {
        before: auditNotificationConfig(before),
        after: auditNotificationConfig(after),
        secretChanged: !!req.webhook?.secret && req.webhook.secret !== before.webhook?.secret,
        version: after.version,
        // Configured again after a removal: the events still pending for it, delivered now.
        ...(Object.keys(resumed).length ? { resumedPending: resumed } : {}),
        // Configured for the first time: the alerts open now, sent to it as firing.
        ...(Object.keys(openAlerts).length ? { openAlertsSent: openAlerts } : {}),
      },
      at: req.now,
      ip: req.ip ?? null,
    });
    return after;
  });
}
