'use client';

/** The alerts being pushed right now, with the labels receivers route on. */
import { dateTime } from '@/lib/format';
import { ROUTING_LABELS, type TActiveAlert } from '@/lib/notifications';
import styles from './notifications.module.css';

const SHOWN = new Set<string>(['alertname', 'severity', ...ROUTING_LABELS]);

export function ActiveAlerts({ alerts }: { alerts: TActiveAlert[] }) {
  if (alerts.length === 0)
    return (
      <p className="empty" data-testid="notifications-active-empty">
        No alert is firing.
      </p>
    );
  return (
    <table data-testid="notifications-active">
      <thead>
        <tr>
          <th>Alert</th>
          <th>Severity</th>
          {ROUTING_LABELS.map((l) => (
            <th key={l}>{l}</th>
          ))}
          <th>Summary</th>
          <th>Since</th>
        </tr>
      </thead>
      <tbody>
        {alerts.map((a) => {
          const other = Object.entries(a.labels).filter(([k]) => !SHOWN.has(k));
          return (
            <tr
              key={`${a.alertname}:${JSON.stringify(a.labels)}`}
              data-testid="notifications-active-row"
              data-alertname={a.alertname}
            >
              <td>
                <code>{a.alertname}</code>
              </td>
              <td>
                <span className={`${styles.severity} ${styles[a.severity] ?? ''}`}>{a.severity}</span>
              </td>
              {ROUTING_LABELS.map((l) => (
                <td key={l}>{a.labels[l] ?? ''}</td>
              ))}
              <td>
                {a.summary}
                {other.length > 0 && (
                  <div className="muted small">{other.map(([k, v]) => `${k}=${v}`).join(' · ')}</div>
                )}
              </td>
              <td>
                <time dateTime={a.startsAt} title={a.startsAt}>
                  {dateTime(a.startsAt)}
                </time>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
