/**
 * Alertmanager's v2 API (POST <url>/api/v2/alerts, an array of postableAlert): an alert that fires
 * is re-sent before its endsAt passes, a resolution is the same labels with endsAt in the past.
 */
import { parseLabels } from './notification-event';
import { postJson, type TPostResult } from './http-post';

export type TPostableAlert = {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
};

type TEventRow = {
  labels: string;
  summary: string;
  description: string;
  nodeId: string | null;
  startsAt: Date;
  endsAt: Date | null;
};

/** The console page of the alert's node (or the guard's), when the console knows its public URL. */
export function generatorUrl(req: { publicUrl: string | null; nodeId: string | null; alertname: string }) {
  if (!req.publicUrl) return undefined;
  const base = req.publicUrl.replace(/\/+$/, '');
  if (req.nodeId) return `${base}/fleet/${encodeURIComponent(req.nodeId)}`;
  return req.alertname.startsWith('CoolantGuard') ? `${base}/guard` : base;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Labels as Alertmanager validates them: names of [a-zA-Z_][a-zA-Z0-9_]*, no empty value (empty
 * means absent). It refuses a whole batch with 400 for one invalid alert, so none is sent invalid.
 */
export function validLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (value === '') continue;
    const n = LABEL_NAME.test(name) ? name : `_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`;
    out[n] = value;
  }
  return out;
}

export function postableAlert(req: { event: TEventRow; endsAt: Date; publicUrl: string | null }): TPostableAlert {
  const e = req.event;
  const labels = validLabels(parseLabels(e.labels));
  const url = generatorUrl({ publicUrl: req.publicUrl, nodeId: e.nodeId, alertname: labels.alertname ?? '' });
  // endsAt before startsAt is refused (a clock ahead of this one started it): start it at its end.
  const startsAt = e.startsAt.getTime() > req.endsAt.getTime() ? req.endsAt : e.startsAt;
  return {
    labels,
    annotations: { summary: e.summary, description: e.description },
    startsAt: startsAt.toISOString(),
    endsAt: req.endsAt.toISOString(),
    ...(url ? { generatorURL: url } : {}),
  };
}

export function alertsEndpoint(url: string): string {
  return `${url.replace(/\/+$/, '')}/api/v2/alerts`;
}

export function postAlerts(req: {
  url: string;
  alerts: TPostableAlert[];
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<TPostResult> {
  return postJson({
    url: alertsEndpoint(req.url),
    body: JSON.stringify(req.alerts),
    timeoutMs: req.timeoutMs,
    ...(req.signal ? { signal: req.signal } : {}),
  });
}
