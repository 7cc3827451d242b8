/**
 * One delivery pass per channel, run by the deliverer after appending new transitions. Nothing is
 * dropped: an event stays pending for its channel until that channel answered 2xx for it, and a
 * failure backs off (doubling, capped) with the error, the attempt and the next try recorded on
 * the channel's row, where notifications.get and /metrics read it.
 */
import type { TDb } from '@coolant/db';
import { postAlerts, postableAlert } from './alertmanager';
import { pendingWhere } from './get-notifications';
import type { TPostResult } from './http-post';
import type { TChannel, TNotificationConfig } from './notification-config';
import { notificationPayload, postWebhook } from './webhook-channel';

export type TDeliveryOptions = {
  /** Alertmanager: firing alerts are re-sent this often (default 30 s)… */
  resendMs: number;
  /** …with endsAt this far ahead (default 3 min), so a missed re-send or two does not resolve them. */
  holdMs: number;
  /** First retry after a failure; doubles per consecutive failure up to backoffMaxMs. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  timeoutMs: number;
  /** The console's public URL (generatorURL), when known. */
  publicUrl: string | null;
};

/** Webhook events sent per pass at most (the rest on the next, in order). */
const WEBHOOK_BATCH = 50;
const ALERTMANAGER_BATCH = 500;

async function channelRow(db: TDb, channel: TChannel) {
  return (
    (await db.notificationChannel.findUnique({ where: { channel } })) ??
    (await db.notificationChannel.upsert({ where: { channel }, create: { channel }, update: {} }))
  );
}

async function record(req: {
  db: TDb;
  channel: TChannel;
  now: Date;
  result: TPostResult;
  failures: number;
  delivered: number;
  opts: TDeliveryOptions;
}): Promise<void> {
  const { db, channel, now, result, opts } = req;
  if (result.ok) {
    await db.notificationChannel.update({
      where: { channel },
      data: {
        lastAttemptAt: now,
        lastSuccessAt: now,
        lastStatus: result.status,
        lastError: null,
        consecutiveFailures: 0,
        nextAttemptAt: null,
        delivered: { increment: req.delivered },
      },
    });
    return;
  }
  const failures = req.failures + 1;
  const delay = Math.min(opts.backoffMaxMs, opts.backoffBaseMs * 2 ** Math.min(30, failures - 1));
  await db.notificationChannel.update({
    where: { channel },
    data: {
      lastAttemptAt: now,
      lastStatus: result.status,
      lastError: result.error,
      consecutiveFailures: failures,
      nextAttemptAt: new Date(now.getTime() + delay),
      failed: { increment: 1 },
    },
  });
}

function due(row: { nextAttemptAt: Date | null }, now: Date): boolean {
  return !row.nextAttemptAt || row.nextAttemptAt.getTime() <= now.getTime();
}

/** Each pending event in seq order, one POST each; the first failure stops the pass (order is kept). */
export async function deliverWebhook(req: {
  db: TDb;
  hook: NonNullable<TNotificationConfig['webhook']>;
  now: () => Date;
  opts: TDeliveryOptions;
}): Promise<number> {
  const { db, opts } = req;
  let sent = 0;
  for (let i = 0; i < WEBHOOK_BATCH; i++) {
    const row = await channelRow(db, 'webhook');
    const now = req.now();
    if (!due(row, now)) break;
    const event = await db.notificationEvent.findFirst({
      where: pendingWhere({ channel: 'webhook', fromSeq: row.fromSeq }),
      orderBy: { seq: 'asc' },
    });
    if (!event) break;
    const result = await postWebhook({
      hook: req.hook,
      payload: notificationPayload({ event, publicUrl: opts.publicUrl }),
      timeoutMs: opts.timeoutMs,
    });
    if (result.ok) await db.notificationEvent.update({ where: { seq: event.seq }, data: { webhookAt: req.now() } });
    await record({
      db,
      channel: 'webhook',
      now: req.now(),
      result,
      failures: row.consecutiveFailures,
      delivered: 1,
      opts,
    });
    if (!result.ok) break;
    sent++;
  }
  return sent;
}

/**
 * The alerts open now (endsAt holdMs ahead) and the pending resolutions (endsAt when they
 * resolved), in one POST: when something is pending, or every resendMs while anything fires.
 * Resolutions go first, so an alert that resolved and fired again under the same labels ends firing.
 */
export async function deliverAlertmanager(req: {
  db: TDb;
  url: string;
  now: () => Date;
  opts: TDeliveryOptions;
  /** Send even if nothing is pending and the re-send is not due (the URL changed). */
  force?: boolean;
}): Promise<{ sent: boolean; alerts: number }> {
  const { db, opts } = req;
  const row = await channelRow(db, 'alertmanager');
  const now = req.now();
  if (!due(row, now)) return { sent: false, alerts: 0 };
  const pending = await db.notificationEvent.findMany({
    where: pendingWhere({ channel: 'alertmanager', fromSeq: row.fromSeq }),
    orderBy: { seq: 'asc' },
    take: ALERTMANAGER_BATCH,
  });
  const open = await db.notificationEvent.findMany({ where: { open: true }, orderBy: { seq: 'asc' } });
  const resendDue =
    open.length > 0 && (!row.lastSuccessAt || now.getTime() - row.lastSuccessAt.getTime() >= opts.resendMs);
  if (pending.length === 0 && !resendDue && !req.force) return { sent: false, alerts: 0 };
  const hold = new Date(now.getTime() + opts.holdMs);
  const alerts = [
    ...pending
      .filter((e) => e.status === 'resolved')
      .map((e) => postableAlert({ event: e, endsAt: e.endsAt ?? now, publicUrl: opts.publicUrl })),
    ...open.map((e) => postableAlert({ event: e, endsAt: hold, publicUrl: opts.publicUrl })),
  ];
  const result = alerts.length
    ? await postAlerts({ url: req.url, alerts, timeoutMs: opts.timeoutMs })
    : { ok: true, status: null, error: null };
  if (result.ok && pending.length) {
    await db.notificationEvent.updateMany({
      where: { seq: { in: pending.map((e) => e.seq) } },
      data: { alertmanagerAt: req.now() },
    });
  }
  if (alerts.length || !result.ok)
    await record({
      db,
      channel: 'alertmanager',
      now: req.now(),
      result,
      failures: row.consecutiveFailures,
      delivered: pending.length,
      opts,
    });
  else if (pending.length)
    await db.notificationChannel.update({
      where: { channel: 'alertmanager' },
      data: { delivered: { increment: pending.length } },
    });
  return { sent: alerts.length > 0, alerts: alerts.length };
}
