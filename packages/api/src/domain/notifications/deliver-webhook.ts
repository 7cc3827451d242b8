/**
 * The webhook's delivery pass: each pending event in seq order, one signed POST each; the first
 * failure ends the pass (order is kept) and backs off. The lease is confirmed in the database
 * before every POST, so an instance that lost it never posts again, and a pass stops starting
 * POSTs after its budget, so one slow receiver holds nothing else up (Alertmanager has its own pass).
 * A pass also stops once the channel's generation moved (a new address or secret): it never posts
 * pending events to the address they were no longer meant for.
 */
import type { Prisma, TDb } from '@coolant/db';
import { due, loadChannel, recordAttempt, type TDeliveryOptions, type TPassControl } from './deliver-channels';
import { pendingWhere } from './get-notifications';
import type { TPostResult } from './http-post';
import type { TNotificationConfig } from './notification-config';
import { notificationPayload, postWebhook } from './webhook-channel';

/** Events one pass sends at most (the rest in the next, in order). */
const WEBHOOK_BATCH = 50;

const webhookEventSelect = {
  seq: true,
  eventId: true,
  status: true,
  alertname: true,
  severity: true,
  labels: true,
  summary: true,
  description: true,
  nodeId: true,
  startsAt: true,
  endsAt: true,
} satisfies Prisma.NotificationEventSelect;

async function sameGeneration(req: { db: TDb; generation: number }): Promise<boolean> {
  const now = await req.db.notificationChannel.findUnique({
    where: { channel: 'webhook' },
    select: { generation: true },
  });
  return now?.generation === req.generation;
}

export async function deliverWebhook(req: {
  db: TDb;
  hook: NonNullable<TNotificationConfig['webhook']>;
  now: () => Date;
  opts: TDeliveryOptions;
  control: TPassControl;
}): Promise<number> {
  const { db, opts, control } = req;
  const row = await loadChannel(db, 'webhook');
  if (!due(row, req.now())) return 0;
  const started = Date.now();
  let sent = 0;
  let last: TPostResult | null = null;
  while (sent < WEBHOOK_BATCH && Date.now() - started < control.budgetMs) {
    const event = await db.notificationEvent.findFirst({
      where: pendingWhere({ channel: 'webhook', fromSeq: row.fromSeq }),
      orderBy: { seq: 'asc' },
      select: webhookEventSelect,
    });
    if (!event || control.signal.aborted || !(await control.confirm())) break;
    // The address or secret changed (or the webhook was removed) since the pass read them: the rest
    // is for the new one, in the next pass.
    if (!(await sameGeneration({ db, generation: row.generation }))) break;
    const result = await postWebhook({
      hook: req.hook,
      payload: notificationPayload({ event, publicUrl: opts.publicUrl }),
      timeoutMs: opts.timeoutMs,
      signal: control.signal,
    });
    if (result.cancelled) break;
    last = result;
    if (!result.ok) break;
    await db.notificationEvent.update({ where: { seq: event.seq }, data: { webhookAt: req.now() } });
    sent++;
  }
  if (last)
    await recordAttempt({
      db,
      row,
      now: req.now(),
      result: last,
      failures: sent > 0 ? 0 : row.consecutiveFailures,
      delivered: sent,
      opts,
    });
  return sent;
}
