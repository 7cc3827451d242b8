'use client';

/**
 * The Notifications page: both channels and the alerts being pushed, reread every few seconds so
 * a failing delivery (and its next retry) shows without a reload.
 */
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/trpc/client';
import { dateTime } from '@/lib/format';
import { NOTIFICATIONS_REFETCH_MS } from '@/lib/notifications';
import { ActiveAlerts } from './notifications-active';
import { ChannelCard } from './notifications-channel';

export function NotificationsPanel() {
  const trpc = useTRPC();
  const get = useQuery({ ...trpc.notifications.get.queryOptions(), refetchInterval: NOTIFICATIONS_REFETCH_MS });
  if (get.error && !get.data) return <div className="error">{get.error.message}</div>;
  const data = get.data;
  if (!data) return <p className="muted">Loading…</p>;
  return (
    <>
      <p className="muted" data-testid="notifications-version">
        Fleet alerts (hot GPU, node offline, GPU missing, collector failing) and guard events go to every channel below,
        labelled <code>alertname</code>, <code>severity</code>, <code>node</code>, <code>gpu</code>, <code>model</code>,{' '}
        <code>tier</code>. Settings v{data.version}
        {data.updatedAt ? ` · changed ${dateTime(data.updatedAt)} by ${data.updatedBy ?? '?'}` : ' · never changed'}
      </p>
      {/* A failed poll keeps the last answer on screen, saying it may be old. */}
      {get.error && <div className="error">Could not refresh: {get.error.message}</div>}
      <ChannelCard channel="alertmanager" data={data} />
      <ChannelCard channel="webhook" data={data} />
      <h2>Firing now ({data.active.length})</h2>
      <ActiveAlerts alerts={data.active} />
    </>
  );
}
