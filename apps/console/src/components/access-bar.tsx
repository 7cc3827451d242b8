'use client';

import { useQuery } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { ago, dateTime, duration } from '@/lib/format';
import { propagationText, TIERS_LIST_INPUT, TIERS_REFETCH_MS, type TTier } from '@/lib/tiers';
import { useNow } from '@/lib/use-now';
import { GuardBanner } from './guard-banner';
import { PauseDialog } from './pause-dialog';

/**
 * Every page's header: one chip per tier with one-click Pause/Resume for
 * operators, and a red banner while any tier is paused, so nobody can work
 * on the console without knowing that a tier is refusing all its traffic.
 */
export function AccessBar({ canOperate }: { canOperate: boolean }) {
  const trpc = useTRPC();
  const tiers = useQuery({ ...trpc.tiers.list.queryOptions(TIERS_LIST_INPUT), refetchInterval: TIERS_REFETCH_MS });
  const [dialog, setDialog] = useState<{ tier: string; action: 'pause' | 'resume' } | null>(null);
  const close = useCallback(() => setDialog(null), []);
  const live = tiers.data?.tiers.filter((t) => !t.retired) ?? [];
  const paused = live.filter((t) => t.paused);

  return (
    <header className="access">
      {paused.length > 0 && <PausedBanner tiers={paused} />}
      <GuardBanner />
      <div className="tier-chips" aria-label="Tier access">
        <span className="muted small">Access</span>
        {live.map((t) => (
          <span key={t.id} className={`chip${t.paused ? ' paused' : ''}`} data-testid="tier-chip" data-tier={t.name}>
            <span className="dot" aria-hidden="true" />
            <b>{t.name}</b>
            <span className="state">{t.paused ? 'paused' : 'serving'}</span>
            {canOperate &&
              (t.paused ? (
                <button className="secondary small" onClick={() => setDialog({ tier: t.name, action: 'resume' })}>
                  Resume {t.name}
                </button>
              ) : (
                <button className="danger small" onClick={() => setDialog({ tier: t.name, action: 'pause' })}>
                  Pause {t.name}
                </button>
              ))}
          </span>
        ))}
        {tiers.error && <span className="error small">tiers: {tiers.error.message}</span>}
      </div>
      {dialog && (
        <PauseDialog
          tier={dialog.tier}
          action={dialog.action}
          instances={tiers.data?.instances.length ?? 0}
          onClose={close}
        />
      )}
    </header>
  );
}

function PausedBanner({ tiers }: { tiers: TTier[] }) {
  const now = useNow();
  return (
    // Only the title is an alert: it is announced when a pause lands, not on every tick of the countdowns below it.
    <section className="paused-banner" aria-label="Paused tiers" data-testid="paused-banner">
      <div className="paused-title" role="alert">
        <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">
          <rect x="3" y="2" width="4" height="12" fill="currentColor" />
          <rect x="9" y="2" width="4" height="12" fill="currentColor" />
        </svg>
        {tiers.length === 1
          ? `Tier ${tiers[0]!.name} is PAUSED`
          : `${tiers.length} tiers are PAUSED: ${tiers.map((t) => t.name).join(', ')}`}
        <span className="paused-sub">
          {' '}
          — every request of {tiers.length === 1 ? 'this tier' : 'these tiers'} is refused
        </span>
      </div>
      <ul>
        {tiers.map((t) => {
          const p = t.pause;
          if (!p) return null;
          const left = p.resumeAt && now ? (new Date(p.resumeAt).getTime() - now) / 1000 : null;
          return (
            <li key={t.id} data-testid="paused-tier" data-tier={t.name}>
              <b>{t.name}</b>: “{p.reason}” · since <span title={p.at}>{dateTime(p.at)}</span>
              {now > 0 && ` (${ago(p.at, now)})`}
              {p.by ? ` by ${p.by}` : ''} ·{' '}
              {p.resumeAt ? (
                <>
                  auto-resume at <span title={p.resumeAt}>{dateTime(p.resumeAt)}</span>
                  {left !== null && ` (in ${duration(left)})`}
                </>
              ) : (
                'no auto-resume'
              )}
              <span className="paused-prop"> · {propagationText(p.propagation)}</span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
