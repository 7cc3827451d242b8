/**
 * notifications.sendTest: a CoolantTestAlert (severity info) straight to the channels asked for,
 * outside the outbox (the answer is the receiver's), audited with what each channel answered.
 * It resolves itself: Alertmanager gets an endsAt a few minutes ahead, the webhook one signed POST.
 */
import { randomUUID } from 'node:crypto';
import type { TDb } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { actorName, type TPersonActor } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import { postAlerts } from './alertmanager';
import type { TDeliveryOptions } from './deliver-channels';
import { readNotificationConfig, type TChannel } from './notification-config';
import { TEST_ALERTNAME } from './notification-event';
import { notificationPayload, postWebhook } from './webhook-channel';

const TEST_ALERT_MS = 5 * 60_000;

export type TSendTestResult = { channel: TChannel; ok: boolean; status: number | null; error: string | null };

export async function sendTestNotification(req: {
  db: TDb;
  actor: TPersonActor;
  channel: TChannel | 'all';
  now: Date;
  delivery: TDeliveryOptions;
  ip?: string | null | undefined;
}): Promise<{ results: TSendTestResult[] }> {
  const config = await readNotificationConfig({ db: req.db });
  const wanted: TChannel[] = req.channel === 'all' ? ['alertmanager', 'webhook'] : [req.channel];
  const configured = wanted.filter((c) => config[c]);
  if (req.channel !== 'all' && configured.length === 0)
    throw new AppError('BAD_REQUEST', `channel: ${req.channel} is not configured (notifications.configure first)`);
  if (configured.length === 0)
    throw new AppError('BAD_REQUEST', 'channel: no channel is configured (notifications.configure first)');
  const by = actorName(req.actor);
  const summary = `Test alert sent by ${by} from the Coolant console`;
  const description = 'A test of Coolant notifications; it resolves by itself in a few minutes.';
  const labels = { alertname: TEST_ALERTNAME, severity: 'info', sentBy: by };
  const results: TSendTestResult[] = [];
  for (const channel of configured) {
    const r =
      channel === 'alertmanager'
        ? await postAlerts({
            url: config.alertmanager!.url,
            timeoutMs: req.delivery.timeoutMs,
            alerts: [
              {
                labels,
                annotations: { summary, description },
                startsAt: req.now.toISOString(),
                endsAt: new Date(req.now.getTime() + TEST_ALERT_MS).toISOString(),
              },
            ],
          })
        : await postWebhook({
            hook: config.webhook!,
            timeoutMs: req.delivery.timeoutMs,
            payload: notificationPayload({
              publicUrl: req.delivery.publicUrl,
              event: {
                eventId: `test:${randomUUID()}`,
                status: 'firing',
                alertname: TEST_ALERTNAME,
                severity: 'info',
                labels: JSON.stringify(labels),
                summary,
                description,
                nodeId: null,
                startsAt: req.now,
                endsAt: null,
              },
            }),
          });
    // The answer's fields, not the POST's internals (cancelled, permanent).
    results.push({ channel, ok: r.ok, status: r.status, error: r.error });
  }
  await recordAudit({
    db: req.db,
    actor: req.actor,
    action: 'notifications.send_test',
    target: 'notifications',
    details: { channel: req.channel, results },
    ip: req.ip ?? null,
  });
  return { results };
}
