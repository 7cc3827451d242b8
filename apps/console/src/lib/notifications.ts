/**
 * The Notifications page's view of `notifications.get`, and the checks and wording the page
 * shares between its channels, so the Alertmanager and webhook cards read and fail alike.
 */
import type { AppRouter } from '@coolant/api/client';
import type { inferRouterOutputs } from '@trpc/server';
import type { TChecked } from './tier-input';

type TOutputs = inferRouterOutputs<AppRouter>['notifications'];
export type TNotifications = TOutputs['get'];
export type TChannelStatus = NonNullable<TNotifications['delivery']['alertmanager']>;
export type TActiveAlert = TNotifications['active'][number];
export type TChannel = keyof TNotifications['delivery'];

export type TTestResult = TOutputs['sendTest']['results'][number];

export const CHANNEL_LABEL: Record<TChannel, string> = { alertmanager: 'Alertmanager', webhook: 'Webhook' };

/** How often the page rereads delivery status: a retry is due every few seconds while a channel fails. */
export const NOTIFICATIONS_REFETCH_MS = 5_000;

/** The labels operators route on, in the order the README and the active table list them. */
export const ROUTING_LABELS = ['node', 'gpu', 'model', 'tier'] as const;

/** A browser-side check of the URL fields; the server checks again and its message wins. */
export function checkUrl(raw: string, field: string): TChecked<string> {
  const text = raw.trim();
  if (!text) return { ok: false, error: `${field}: is required` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, error: `${field}: not a URL (for example http://alertmanager.internal:9093)` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, error: `${field}: must start with http:// or https://` };
  return { ok: true, value: text };
}

/**
 * `failing`: the last attempt failed (red, with its error); `ok`: the last attempt succeeded;
 * `idle`: nothing was sent yet (a fresh channel, or no alert has fired).
 */
export function channelHealth(status: TChannelStatus | null): 'ok' | 'failing' | 'idle' {
  if (!status || !status.lastAttemptAt) return 'idle';
  return status.consecutiveFailures > 0 ? 'failing' : 'ok';
}

/** "ok · HTTP 200", "failed · HTTP 500 · …", "failed · connect ECONNREFUSED …". */
export function describeTest(result: TTestResult): string {
  const parts = [result.ok ? 'ok' : 'failed'];
  if (result.status !== null) parts.push(`HTTP ${result.status}`);
  if (result.error) parts.push(result.error);
  return parts.join(' · ');
}
