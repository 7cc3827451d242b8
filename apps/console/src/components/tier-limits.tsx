'use client';

/**
 * A tier's limits, one row per (scope, window): the per-user rows always, a whole-tier row where
 * one is set. The scope has a column of its own because the two rows of a window share its label
 * and count very different things (3 a day each vs 2,000 a minute for everyone together).
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { dateTime, duration } from '@/lib/format';
import { SCOPE_LABEL, WINDOWS, type TLimitScope, type TTier, type TTierLimit, type TWindow } from '@/lib/tiers';
import { BaseLimitForm, TemporaryLimitForm } from './tier-limit-forms';

type TKind = 'base' | 'temporary';
type TEditing = { window: TWindow; scope: TLimitScope; kind: TKind } | null;

const SCOPE_TITLE: Record<TLimitScope, string> = {
  subject: 'Each end user of the tier is counted on their own',
  tier: 'All end users of the tier are counted together',
};

type TProps = {
  tier: TTier;
  canOperate: boolean;
  isAdmin: boolean;
  now: number;
  /** When this data was fetched: the server's secondsLeft counts down from then, whatever the browser's clock says. */
  fetchedAt: number;
};

/** Base, temporary and effective limit per window and scope, with inline editors by role. */
export function TierLimits({ tier, canOperate, isAdmin, now, fetchedAt }: TProps) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [editing, setEditing] = useState<TEditing>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
  const clear = useMutation(trpc.tiers.clearTemporaryLimit.mutationOptions({ onSuccess: refresh }));
  const editable = !tier.retired;
  const tierWindows = new Set(tier.limits.filter((l) => l.scope === 'tier').map((l) => l.window));
  const unset = WINDOWS.filter((w) => !tierWindows.has(w));
  // A whole-tier window that is not set yet has no row: its editor opens below the table's rows.
  const pending: TTierLimit | null =
    editing && editing.scope === 'tier' && !tierWindows.has(editing.window)
      ? { window: editing.window, scope: 'tier', base: null, temporary: null, effective: null }
      : null;
  const form = (l: TTierLimit, kind: TKind) => (
    <tr key={`${l.scope}-${l.window}-edit`} className="edit-row">
      <td colSpan={5}>
        {kind === 'base' ? (
          <BaseLimitForm tier={tier.name} limit={l} onDone={() => setEditing(null)} />
        ) : (
          <TemporaryLimitForm tier={tier.name} limit={l} onDone={() => setEditing(null)} />
        )}
      </td>
    </tr>
  );

  return (
    <table className="limits">
      <thead>
        <tr>
          <th>Window</th>
          <th>Scope</th>
          <th>Base</th>
          <th>Temporary</th>
          <th>Effective</th>
        </tr>
      </thead>
      <tbody>
        {tier.limits.map((l) => {
          const t = l.temporary;
          const left = t ? t.secondsLeft - (now ? (now - fetchedAt) / 1000 : 0) : 0;
          const open = editing?.window === l.window && editing.scope === l.scope ? editing.kind : null;
          const wide = l.scope === 'tier' ? 'tier-wide ' : '';
          return [
            <tr
              key={`${l.scope}-${l.window}`}
              className={`scope-${l.scope}`}
              data-testid="limit-row"
              data-window={l.window}
              data-scope={l.scope}
            >
              <td>per {l.window}</td>
              <td data-testid="limit-scope">
                <span className={`badge scope-badge scope-${l.scope}`} title={SCOPE_TITLE[l.scope]}>
                  {SCOPE_LABEL[l.scope]}
                </span>
              </td>
              <td data-testid="base-limit">
                {l.base === null ? <span className="muted">none</span> : l.base.toLocaleString('en-US')}
                {isAdmin && editable && open !== 'base' && (
                  <button
                    className="link"
                    onClick={() => setEditing({ window: l.window, scope: l.scope, kind: 'base' })}
                    aria-label={`Edit ${wide}base ${l.window} limit`}
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
                    <button
                      className="link"
                      onClick={() => setEditing({ window: l.window, scope: l.scope, kind: 'temporary' })}
                    >
                      {t ? 'replace' : 'set temporary'}
                    </button>
                    {t && (
                      <button
                        className="link danger"
                        disabled={clear.isPending}
                        onClick={() => {
                          const reason = window.prompt(
                            `Clear the temporary ${wide}${l.window} limit of ${tier.name}? The base limit applies again. Reason (optional):`,
                          );
                          if (reason !== null)
                            clear.mutate({
                              tier: tier.name,
                              window: l.window,
                              scope: l.scope,
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
            open && form(l, open),
          ];
        })}
        {canOperate && editable && unset.length > 0 && !pending && (
          <tr className="add-row">
            <td colSpan={5}>
              <AddTierWideLimit windows={unset} isAdmin={isAdmin} onPick={setEditing} />
            </td>
          </tr>
        )}
        {pending && editing && form(pending, editing.kind)}
        {clear.error && (
          <tr>
            <td colSpan={5} className="error">
              {clear.error.message}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** Opens the editor of a whole-tier window that has no row yet: base for admins, temporary for operators. */
function AddTierWideLimit(props: { windows: readonly TWindow[]; isAdmin: boolean; onPick: (e: TEditing) => void }) {
  const [win, setWin] = useState<TWindow>(props.windows.includes('minute') ? 'minute' : props.windows[0]!);
  const pick = (kind: TKind) => props.onPick({ window: win, scope: 'tier', kind });
  return (
    <div className="row compact small" role="group" aria-label="Add a tier-wide limit">
      <span className="muted">Whole tier (all users together):</span>
      <label className="inline">
        window
        <select name="tier-wide-window" value={win} onChange={(e) => setWin(e.target.value as TWindow)}>
          {props.windows.map((w) => (
            <option key={w} value={w}>
              per {w}
            </option>
          ))}
        </select>
      </label>
      {props.isAdmin && (
        <button className="link" onClick={() => pick('base')}>
          add tier-wide limit
        </button>
      )}
      <button className="link" onClick={() => pick('temporary')}>
        add tier-wide temporary limit
      </button>
    </div>
  );
}
