/**
 * notifications.configure: the one writer of NotificationConfig. The config, its version bump, the
 * channels' delivery rows and the audit row commit in one transaction. A channel that is newly
 * configured starts after the outbox's last event (it is not flooded with history); one that is
 * removed keeps its counters (monotonic for /metrics) and drops out of delivery.
 */
import type { TDb, TDbTx } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { actorName, type TPersonActor } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import {
  readNotificationConfig,
  redactNotificationConfig,
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

async function startChannel(req: { tx: TDbTx; channel: TChannel }): Promise<void> {
  const last = await req.tx.notificationEvent.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
  const fresh = {
    fromSeq: last?.seq ?? 0,
    consecutiveFailures: 0,
    nextAttemptAt: null,
    lastError: null,
    lastStatus: null,
    lastAttemptAt: null,
    lastSuccessAt: null,
  };
  await req.tx.notificationChannel.upsert({
    where: { channel: req.channel },
    create: { channel: req.channel, ...fresh },
    update: fresh,
  });
}

export async function configureNotifications(req: TConfigureNotificationsRequest): Promise<TNotificationConfig> {
  return req.db.$transaction(async (tx) => {
    const before = await readNotificationConfig({ db: tx });
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
    for (const channel of ['alertmanager', 'webhook'] as const) {
      const was = before[channel]?.url;
      const now = after[channel]?.url;
      if (now && !was) await startChannel({ tx, channel });
      // A new address is tried at once: the old one's backoff says nothing about it.
      else if (now && was && now !== was)
        await tx.notificationChannel.updateMany({
          where: { channel },
          data: { consecutiveFailures: 0, nextAttemptAt: null },
        });
    }
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'notifications.configure',
      target: 'notifications',
      reason: req.reason || null,
      details: {
        before: redactNotificationConfig(before),
        after: redactNotificationConfig(after),
        secretChanged: !!req.webhook?.secret && req.webhook.secret !== before.webhook?.secret,
        version: after.version,
      },
      at: req.now,
      ip: req.ip ?? null,
    });
    return after;
  });
}
