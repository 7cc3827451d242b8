'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { dateTime, duration } from '@/lib/format';
import { checkLimit, checkReason, checkUntil } from '@/lib/tier-input';
import type { TTier, TTierLimit } from '@/lib/tiers';
import { useNow } from '@/lib/use-now';

type TEditing = { window: TTierLimit['window']; kind: 'base' | 'temporary' } | null;

type TProps = {
  tier: TTier;
  canOperate: boolean;
  isAdmin: boolean;
  now: number;
  /** When this data was fetched: the server's secondsLeft counts down from then, whatever the browser's clock says. */
  fetchedAt: number;
};

/** Base, temporary and effective limit per window, with inline editors by role. */
export function TierLimits({ tier, canOperate, isAdmin, now, fetchedAt }: TProps) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [editing, setEditing] = useState<TEditing>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
  const clear = useMutation(trpc.tiers.clearTemporaryLimit.mutationOptions({ onSuccess: refresh }));
  const editable = !tier.retired;

  return (
    <table className="limits">
      <thead>
        <tr>
          <th>Window</th>
          <th>Base</th>
          <th>Temporary</th>
          <th>Effective</th>
        </tr>
      </thead>
      <tbody>
        {tier.limits.map((l) => {
          const t = l.temporary;
          const left = t ? t.secondsLeft - (now ? (now - fetchedAt) / 1000 : 0) : 0;
          const open = editing?.window === l.window ? editing.kind : null;
          return [
            <tr key={l.window} data-testid="limit-row" data-window={l.window}>
              <td>per {l.window}</td>
              <td data-testid="base-limit">
                {l.base === null ? <span className="muted">none</span> : l.base.toLocaleString('en-US')}
                {isAdmin && editable && open !== 'base' && (
                  <button
                    className="link"
                    onClick={() => setEditing({ window: l.window, kind: 'base' })}
                    aria-label={`Edit base ${l.window} limit`}
                  >
                    edit
                  </button>
                )}
              </td>
              <td data-testid="temporary-limit">
                {t ? (
                  <>
                    <b>{t.limit.toLocaleString('en-US')}</b>{' '}
                    <span className="countdown" title={`until ${t.until}`}>
                      {left > 0 ? `${duration(left)} left` : 'expiring…'}
                    </span>
                    <div className="muted small">
                      until {dateTime(t.until)} · “{t.reason}” · by {t.createdBy}
                    </div>
                  </>
                ) : (
                  <span className="muted">—</span>
                )}
                {canOperate && editable && open !== 'temporary' && (
                  <span className="actions">
                    <button className="link" onClick={() => setEditing({ window: l.window, kind: 'temporary' })}>
                      {t ? 'replace' : 'set temporary'}
                    </button>
                    {t && (
                      <button
                        className="link danger"
                        disabled={clear.isPending}
                        onClick={() => {
                          const reason = window.prompt(
                            `Clear the temporary ${l.window} limit of ${tier.name}? The base limit applies again. Reason (optional):`,
                          );
                          if (reason !== null)
                            clear.mutate({
                              tier: tier.name,
                              window: l.window,
                              ...(reason.trim() ? { reason: reason.trim() } : {}),
                            });
                        }}
                      >
                        clear
                      </button>
                    )}
                  </span>
                )}
              </td>
              <td data-testid="effective-limit">
                {l.effective === null ? (
                  <span className="muted">unlimited</span>
                ) : (
                  <>
                    <b>{l.effective.toLocaleString('en-US')}</b>{' '}
                    <span className="muted small">{t ? 'temporary' : 'base'}</span>
                  </>
                )}
              </td>
            </tr>,
            open && (
              <tr key={`${l.window}-edit`} className="edit-row">
                <td colSpan={4}>
                  {open === 'base' ? (
                    <BaseLimitForm tier={tier.name} limit={l} onDone={() => setEditing(null)} />
                  ) : (
                    <TemporaryLimitForm tier={tier.name} limit={l} onDone={() => setEditing(null)} />
                  )}
                </td>
              </tr>
            ),
          ];
        })}
        {clear.error && (
          <tr>
            <td colSpan={4} className="error">
              {clear.error.message}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

function BaseLimitForm({ tier, limit, onDone }: { tier: string; limit: TTierLimit; onDone: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [value, setValue] = useState(limit.base === null ? '' : String(limit.base));
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const save = useMutation(
    trpc.tiers.setLimit.mutationOptions({
      onSuccess: () => {
        void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
        onDone();
      },
    }),
  );
  return (
    <form
      className="row inline-edit"
      aria-label={`Base ${limit.window} limit of ${tier}`}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const l = checkLimit(value, { allowNone: true });
        if (!l.ok) return setInvalid(l.error);
        const r = checkReason(reason, { required: false });
        if (!r.ok) return setInvalid(r.error);
        setInvalid(null);
        save.mutate({ tier, window: limit.window, limit: l.value, ...(r.value ? { reason: r.value } : {}) });
      }}
    >
      <label>
        Base limit per {limit.window} (empty: none)
        <input
          name="base-limit"
          inputMode="numeric"
          autoFocus
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="none"
          size={10}
        />
      </label>
      <label className="grow">
        Reason (optional)
        <input name="reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      </label>
      <button type="submit" disabled={save.isPending}>
        Save
      </button>
      <button type="button" className="secondary" onClick={onDone}>
        Cancel
      </button>
      {(invalid ?? save.error) && (
        <div className="error full" role="alert">
          {invalid ?? save.error?.message}
        </div>
      )}
    </form>
  );
}

function TemporaryLimitForm({ tier, limit, onDone }: { tier: string; limit: TTierLimit; onDone: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [value, setValue] = useState(limit.temporary ? String(limit.temporary.limit) : '');
  const [until, setUntil] = useState('2h');
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const previewId = useId();
  const now = useNow();
  const preview = now ? checkUntil(until, now) : null;
  const save = useMutation(
    trpc.tiers.setTemporaryLimit.mutationOptions({
      onSuccess: () => {
        void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
        onDone();
      },
    }),
  );
  return (
    <form
      className="row inline-edit"
      aria-label={`Temporary ${limit.window} limit of ${tier}`}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const l = checkLimit(value, { allowNone: false });
        if (!l.ok) return setInvalid(l.error);
        const u = checkUntil(until, Date.now());
        if (!u.ok) return setInvalid(u.error);
        const r = checkReason(reason, { required: true });
        if (!r.ok) return setInvalid(r.error);
        setInvalid(null);
        save.mutate({ tier, window: limit.window, limit: l.value!, until: u.value.toISOString(), reason: r.value! });
      }}
    >
      <label>
        Temporary limit per {limit.window}
        <input
          name="temporary-limit"
          inputMode="numeric"
          autoFocus
          value={value}
          onChange={(e) => setValue(e.target.value)}
          size={10}
        />
      </label>
      <label>
        Until (2h, 90m, 1d or a date-time)
        <input
          name="until"
          value={until}
          onChange={(e) => setUntil(e.target.value)}
          size={18}
          aria-describedby={previewId}
        />
        <span id={previewId} className="muted small" data-testid="until-preview">
          {preview?.ok
            ? `→ ${dateTime(preview.value.toISOString())} (in ${duration((preview.value.getTime() - now) / 1000)})`
            : '\u00a0'}
        </span>
      </label>
      <label className="grow">
        Reason (required)
        <input name="reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      </label>
      <button type="submit" disabled={save.isPending}>
        Save
      </button>
      <button type="button" className="secondary" onClick={onDone}>
        Cancel
      </button>
      {(invalid ?? save.error) && (
        <div className="error full" role="alert">
          {invalid ?? save.error?.message}
        </div>
      )}
    </form>
  );
}
