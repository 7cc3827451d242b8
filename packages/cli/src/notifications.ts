/**
 * `coolant notifications` and `coolant notifications test [alertmanager|webhook|all]`: where alerts
 * go, how delivery is going (a failing channel says so first, with its error and next retry) and
 * what is firing, and a test alert whose failure is the command's failure (exit 1), so a deploy
 * script can check that pages would get out. Changing the channels stays on the page and the API:
 * a webhook secret does not belong on a command line.
 */
import type { TClient } from './client';
import { EXIT } from './errors';
import { duration, table, utc } from './format';

export type TNotifications = Awaited<ReturnType<TClient['notifications']['get']['query']>>;
export type TTestChannel = 'alertmanager' | 'webhook' | 'all';
type TStatus = NonNullable<TNotifications['delivery']['alertmanager']>;
type TResult = { json: unknown; text: string; exitCode: number };
type TOpts = () => { signal: AbortSignal };

function delivery(s: TStatus | null, now: Date): string {
  if (!s || !s.lastAttemptAt) return `nothing sent yet${s?.pending ? `, ${s.pending} pending` : ''}`;
  if (s.consecutiveFailures > 0) {
    const next = s.nextAttemptAt
      ? Date.parse(s.nextAttemptAt) > now.getTime()
        ? `next retry in ${duration((Date.parse(s.nextAttemptAt) - now.getTime()) / 1000)}`
        : 'retry due'
      : 'no retry scheduled';
    const last = s.lastSuccessAt ? `last success ${utc(s.lastSuccessAt)}` : 'never delivered';
    return `FAILING ×${s.consecutiveFailures}: ${s.lastError ?? `HTTP ${s.lastStatus ?? '?'}`}; ${next}, ${s.pending} pending, ${last}`;
  }
  return `ok, last success ${utc(s.lastSuccessAt ?? s.lastAttemptAt)}${s.lastStatus ? ` (HTTP ${s.lastStatus})` : ''}, ${s.pending} pending`;
}

export function renderNotifications(n: TNotifications, now: Date): string {
  const line = (name: string, url: string | null, extra: string, s: TStatus | null) =>
    url ? `${name}: ${url}${extra}\n  delivery: ${delivery(s, now)}` : `${name}: not configured`;
  const lines = [
    `Notifications (settings v${n.version}${n.updatedAt ? `, changed ${utc(n.updatedAt)} by ${n.updatedBy ?? '?'}` : ''})`,
    line('Alertmanager', n.alertmanager?.url ?? null, '', n.delivery.alertmanager),
    line('Webhook', n.webhook?.url ?? null, ' (secret set)', n.delivery.webhook),
    '',
  ];
  if (n.active.length === 0) lines.push('No alert is firing.');
  else
    lines.push(
      `Firing now (${n.active.length}):`,
      table(
        ['ALERT', 'SEVERITY', 'NODE', 'GPU', 'TIER', 'SINCE', 'SUMMARY'],
        n.active.map((a) => [
          a.alertname,
          a.severity,
          a.labels.node ?? '',
          a.labels.gpu ?? '',
          a.labels.tier ?? '',
          utc(a.startsAt),
          a.summary,
        ]),
      ),
    );
  return lines.join('\n');
}

export async function showNotifications(client: TClient, opts: TOpts, now: Date): Promise<TResult> {
  const n = await client.notifications.get.query(undefined, opts());
  return { json: n, text: renderNotifications(n, now), exitCode: EXIT.ok };
}

export async function testNotifications(client: TClient, opts: TOpts, channel: TTestChannel): Promise<TResult> {
  const res = await client.notifications.sendTest.mutate({ channel }, opts());
  const text = res.results
    .map(
      (r) =>
        `${r.channel}: ${r.ok ? 'ok' : 'FAILED'}${r.status === null ? '' : ` (HTTP ${r.status})`}${r.error ? `: ${r.error}` : ''}`,
    )
    .join('\n');
  return {
    json: res,
    text: `Test alert (CoolantTestAlert) sent.\n${text}`,
    exitCode: res.results.every((r) => r.ok) ? EXIT.ok : EXIT.failed,
  };
}
