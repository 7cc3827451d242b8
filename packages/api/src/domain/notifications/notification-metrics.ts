/**
 * Notification families of /metrics, from the channels' rows (cluster-wide, like the lease
 * totals): what was delivered, what failed, and what is still waiting, per channel, so teams can
 * alert on Coolant's own paging being stuck.
 */
import type { TDb } from '@coolant/db';
import type { MetricsWriter } from '../../lib/prometheus';
import { channelStatus } from './get-notifications';
import { CHANNELS, readNotificationConfig } from './notification-config';

export async function writeNotificationMetrics(req: { db: TDb; m: MetricsWriter }): Promise<void> {
  const { db, m } = req;
  const config = await readNotificationConfig({ db });
  const rows = await db.notificationChannel.findMany({ orderBy: { channel: 'asc' } });
  const configured = CHANNELS.filter((c) => config[c]);
  const statuses = await Promise.all(configured.map(async (c) => ({ c, s: await channelStatus({ db, channel: c }) })));
  m.family(
    'coolant_notifications_delivered_total',
    'counter',
    'Alert transitions the channel accepted (2xx), since the install.',
    rows.map((r) => ({ labels: { channel: r.channel }, value: Number(r.delivered) })),
  );
  m.family(
    'coolant_notifications_failed_total',
    'counter',
    'Delivery attempts to the channel that failed (network error or non-2xx), since the install.',
    rows.map((r) => ({ labels: { channel: r.channel }, value: Number(r.failed) })),
  );
  m.family(
    'coolant_notifications_pending',
    'gauge',
    'Alert transitions not yet delivered to the configured channel (retried with backoff, never dropped).',
    statuses.map(({ c, s }) => ({ labels: { channel: c }, value: s.pending })),
  );
  m.family(
    'coolant_notifications_consecutive_failures',
    'gauge',
    'Failed attempts in a row of the configured channel (0 after a success).',
    statuses.map(({ c, s }) => ({ labels: { channel: c }, value: s.consecutiveFailures })),
  );
}
