'use client';

/**
 * The editor of one channel (Alertmanager: a URL; webhook: a URL and its signing secret), with an
 * optional reason for the audit log. The secret is never shown back: an existing webhook keeps
 * its stored secret when the field is left empty, a new one needs it.
 */
import { useState } from 'react';
import { checkReason } from '@/lib/tier-input';
import { CHANNEL_LABEL, checkUrl, type TChannel } from '@/lib/notifications';
import { InlineFormActions } from './inline-form-actions';

export type TChannelEdit = { url: string; secret?: string; reason?: string };

/** Which field a message from the browser's check or the server is about, to mark it invalid. */
function blamedField(error: string | null | undefined): 'url' | 'secret' | 'reason' | null {
  if (!error) return null;
  const e = error.toLowerCase();
  if (e.includes('secret')) return 'secret';
  if (e.includes('reason')) return 'reason';
  if (e.includes('url')) return 'url';
  return null;
}

export function ChannelForm(props: {
  channel: TChannel;
  current: { url: string; secretSet?: boolean } | null;
  pending: boolean;
  error: string | null | undefined;
  onSave: (edit: TChannelEdit) => void;
  onCancel: () => void;
}) {
  const label = CHANNEL_LABEL[props.channel];
  const [url, setUrl] = useState(props.current?.url ?? '');
  const [secret, setSecret] = useState('');
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const hasSecret = props.channel === 'webhook';
  const keepsSecret = Boolean(props.current?.secretSet);
  const error = invalid ?? props.error;
  const blamed = blamedField(error);
  return (
    <form
      className="row inline-edit"
      aria-label={`${label} settings`}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const u = checkUrl(url, 'url');
        if (!u.ok) return setInvalid(u.error);
        if (hasSecret && !keepsSecret && !secret) return setInvalid('secret: is required for a new webhook');
        const r = checkReason(reason, { required: false });
        if (!r.ok) return setInvalid(r.error);
        setInvalid(null);
        props.onSave({
          url: u.value,
          ...(hasSecret && secret ? { secret } : {}),
          ...(r.value ? { reason: r.value } : {}),
        });
      }}
    >
      <label className="grow">
        {label} URL
        <input
          name={`${props.channel}-url`}
          type="url"
          autoFocus
          value={url}
          aria-invalid={blamed === 'url' || undefined}
          placeholder={
            props.channel === 'alertmanager' ? 'http://alertmanager.internal:9093' : 'https://hooks.example.com/…'
          }
          onChange={(e) => setUrl(e.target.value)}
          size={40}
        />
      </label>
      {hasSecret && (
        <label>
          Signing secret{keepsSecret ? ' (empty: keep the stored one)' : ''}
          <input
            name="webhook-secret"
            type="password"
            autoComplete="new-password"
            value={secret}
            aria-invalid={blamed === 'secret' || undefined}
            placeholder={keepsSecret ? 'set' : ''}
            onChange={(e) => setSecret(e.target.value)}
          />
        </label>
      )}
      <label className="grow">
        Reason (optional)
        <input
          name="reason"
          value={reason}
          maxLength={500}
          aria-invalid={blamed === 'reason' || undefined}
          onChange={(e) => setReason(e.target.value)}
        />
      </label>
      <InlineFormActions pending={props.pending} error={error} onCancel={props.onCancel} />
    </form>
  );
}
