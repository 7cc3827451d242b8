'use client';

/**
 * One channel's delivery status as the pusher keeps it: a failing channel is red and names its
 * last error and its next retry, so an admin sees that pages are not going out, not only that
 * none arrived.
 */
import { ago, dateTime, duration } from '@/lib/format';
import { channelHealth, type TChannelStatus } from '@/lib/notifications';
import { useNow } from '@/lib/use-now';
import styles from './notifications.module.css';

function When({ iso, now, future }: { iso: string | null; now: number; future?: boolean }) {
  if (!iso) return <>never</>;
  const rel = now
    ? future
      ? Date.parse(iso) <= now
        ? 'due now'
        : `in ${duration((Date.parse(iso) - now) / 1000)}`
      : ago(iso, now)
    : '';
  return (
    <time dateTime={iso} title={iso}>
      {dateTime(iso)} {rel && <span className="muted">({rel})</span>}
    </time>
  );
}

export function DeliveryStatus({ status }: { status: TChannelStatus | null }) {
  const now = useNow();
  const health = channelHealth(status);
  if (!status) return <p className="muted">Nothing delivered yet.</p>;
  const failing = health === 'failing';
  return (
    <div data-testid="notifications-delivery" data-health={health}>
      <dl className={styles.delivery}>
        <div>
          <dt>Last attempt</dt>
          <dd>
            <When iso={status.lastAttemptAt} now={now} />
          </dd>
        </div>
        <div>
          <dt>Last success</dt>
          <dd data-testid="notifications-last-success">
            <When iso={status.lastSuccessAt} now={now} />
          </dd>
        </div>
        <div className={failing ? styles.bad : undefined}>
          <dt>Last status</dt>
          <dd>{status.lastStatus === null ? '—' : `HTTP ${status.lastStatus}`}</dd>
        </div>
        <div className={failing ? styles.bad : undefined}>
          <dt>Consecutive failures</dt>
          <dd data-testid="notifications-failures">{status.consecutiveFailures}</dd>
        </div>
        <div>
          <dt>Next retry</dt>
          <dd>{status.nextAttemptAt ? <When iso={status.nextAttemptAt} now={now} future /> : '—'}</dd>
        </div>
        <div>
          <dt>Pending</dt>
          <dd data-testid="notifications-pending">{status.pending}</dd>
        </div>
      </dl>
      {failing && status.lastError && (
        <div className={styles.lastError} data-testid="notifications-last-error">
          Failing: {status.lastError}
        </div>
      )}
    </div>
  );
}
