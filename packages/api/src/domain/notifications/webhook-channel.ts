/**
 * The generic webhook: one signed POST per transition, signed exactly like the guard's
 * (guard/webhook.ts), a Slack-compatible `text` plus the structured alert, and the eventId
 * receivers dedupe on (a retry after a lost answer delivers the same id again).
 */
import { signedWebhookHeaders } from '../guard/webhook';
import { generatorUrl } from './alertmanager';
import { postJson, type TPostResult } from './http-post';
import { parseLabels } from './notification-event';

export type TNotificationPayload = {
  /** The eventId: unique per transition. */
  id: string;
  text: string;
  status: 'firing' | 'resolved';
  alertname: string;
  severity: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
  startsAt: string;
  /** When it resolved (null while firing). */
  endsAt: string | null;
  generatorURL: string | null;
};

export function notificationPayload(req: {
  event: {
    eventId: string;
    status: string;
    alertname: string;
    severity: string;
    labels: string;
    summary: string;
    description: string;
    nodeId: string | null;
    startsAt: Date;
    endsAt: Date | null;
  };
  publicUrl: string | null;
}): TNotificationPayload {
  const e = req.event;
  const status = e.status === 'resolved' ? 'resolved' : 'firing';
  const icon = status === 'firing' ? (e.severity === 'critical' ? ':fire:' : ':warning:') : ':white_check_mark:';
  return {
    id: e.eventId,
    text: `${icon} [${status.toUpperCase()}] ${e.alertname}: ${e.summary}`,
    status,
    alertname: e.alertname,
    severity: e.severity,
    labels: parseLabels(e.labels),
    annotations: { summary: e.summary, description: e.description },
    startsAt: e.startsAt.toISOString(),
    endsAt: status === 'resolved' ? (e.endsAt?.toISOString() ?? null) : null,
    generatorURL: generatorUrl({ publicUrl: req.publicUrl, nodeId: e.nodeId, alertname: e.alertname }) ?? null,
  };
}

export function postWebhook(req: {
  hook: { url: string; secret: string };
  payload: TNotificationPayload;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<TPostResult> {
  const body = JSON.stringify(req.payload);
  return postJson({
    url: req.hook.url,
    body,
    timeoutMs: req.timeoutMs,
    ...(req.signal ? { signal: req.signal } : {}),
    headers: signedWebhookHeaders({ secret: req.hook.secret, body, event: `alert.${req.payload.status}` }),
  });
}
