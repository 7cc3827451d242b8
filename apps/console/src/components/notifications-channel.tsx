'use client';

/**
 * One channel's card: where it points (the webhook's secret only as "set"), its editor, its
 * "Send a test alert" button with the receiver's answer, and its delivery status. `configure`
 * replaces both channels at once, so a card sends the other channel as it is stored (a webhook
 * without its secret keeps the stored one).
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { clockMs } from '@/lib/format';
import { CHANNEL_LABEL, channelHealth, describeTest, type TChannel, type TNotifications } from '@/lib/notifications';
import { DeliveryStatus } from './notifications-delivery';
import { ChannelForm, type TChannelEdit } from './notifications-form';
import styles from './notifications.module.css';

const HELP: Record<TChannel, string> = {
  alertmanager:
    'Alerts are pushed to its v2 API (POST /api/v2/alerts) while they fire, re-sent before they expire there, and resolved when they clear.',
  webhook:
    'A signed JSON POST per alert (Slack-compatible text; x-coolant-signature = sha256=HMAC-SHA256(secret, timestamp.body), x-coolant-timestamp).',
};

function stored(data: TNotifications) {
  return {
    alertmanager: data.alertmanager ? { url: data.alertmanager.url } : null,
    webhook: data.webhook ? { url: data.webhook.url } : null,
  };
}

export function ChannelCard({ channel, data }: { channel: TChannel; data: TNotifications }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [editing, setEditing] = useState(false);
  const current = channel === 'alertmanager' ? data.alertmanager : data.webhook;
  const status = data.delivery[channel];
  const label = CHANNEL_LABEL[channel];
  const sendTest = useMutation(
    trpc.notifications.sendTest.mutationOptions({
      onSettled: () => void qc.invalidateQueries({ queryKey: trpc.notifications.get.queryKey() }),
    }),
  );
  const configure = useMutation(
    trpc.notifications.configure.mutationOptions({
      onSuccess: (next) => {
        qc.setQueryData(trpc.notifications.get.queryKey(), next);
        void qc.invalidateQueries({ queryKey: trpc.notifications.get.queryKey() });
        // A test result is about the address it was sent to.
        sendTest.reset();
        setEditing(false);
      },
    }),
  );
  const save = (edit: TChannelEdit | null, removeReason?: string) => {
    const reason = edit ? edit.reason : removeReason;
    const both = stored(data);
    const input =
      channel === 'alertmanager'
        ? { ...both, alertmanager: edit ? { url: edit.url } : null }
        : { ...both, webhook: edit ? { url: edit.url, ...(edit.secret ? { secret: edit.secret } : {}) } : null };
    // From the version this page shows: someone else's change since is a CONFLICT, not undone.
    configure.mutate({ ...input, expectedVersion: data.version, ...(reason ? { reason } : {}) });
  };
  const tested = sendTest.data?.results.find((r) => r.channel === channel);
  const failing = channelHealth(status) === 'failing';

  return (
    <section
      className={`${styles.card} ${failing ? styles.failing : ''}`}
      data-testid="notifications-channel"
      data-channel={channel}
      data-health={current ? channelHealth(status) : 'off'}
      aria-label={label}
    >
      <h2>
        {label}
        <span className={`${styles.health} ${styles[channelHealth(status)] ?? ''}`} data-testid="notifications-health">
          {current ? channelHealth(status) : 'not configured'}
        </span>
      </h2>
      <p className="muted small">{HELP[channel]}</p>
      {!editing && (
        <div className={styles.config}>
          {current ? (
            <>
              <code data-testid="notifications-url">{current.url}</code>
              {channel === 'webhook' && <span className="muted">secret: set</span>}
            </>
          ) : (
            <span className="muted">Not configured.</span>
          )}
          <button className="secondary" onClick={() => setEditing(true)}>
            {current ? 'Edit' : `Set up ${label}`}
          </button>
          {current && (
            <button
              className="danger"
              disabled={configure.isPending}
              onClick={() => {
                const reason = window.prompt(`Stop sending alerts to ${label}? Reason (optional):`);
                if (reason !== null) save(null, reason.trim() || undefined);
              }}
            >
              Remove
            </button>
          )}
        </div>
      )}
      {editing && (
        <ChannelForm
          channel={channel}
          current={current}
          pending={configure.isPending}
          error={configure.error?.message}
          onSave={(edit) => save(edit)}
          onCancel={() => {
            configure.reset();
            setEditing(false);
          }}
        />
      )}
      {!editing && configure.error && <div className="error">{configure.error.message}</div>}
      {current && (
        <div className="row" style={{ alignItems: 'center' }}>
          <button onClick={() => sendTest.mutate({ channel })} disabled={sendTest.isPending}>
            {sendTest.isPending ? 'Sending…' : 'Send a test alert'}
          </button>
          {sendTest.error && (
            <span className={`${styles.result} ${styles.failed}`} role="alert">
              {sendTest.error.message}
            </span>
          )}
          {tested && (
            <span
              className={`${styles.result} ${tested.ok ? styles.ok : styles.failed}`}
              data-testid="notifications-test-result"
              data-ok={String(tested.ok)}
              role="status"
            >
              Test {describeTest(tested)}
              {sendTest.submittedAt ? (
                <span className="muted"> at {clockMs(new Date(sendTest.submittedAt).toISOString())}</span>
              ) : null}
            </span>
          )}
        </div>
      )}
      {current && <DeliveryStatus status={status} />}
    </section>
  );
}
