'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { dateTime, duration } from '@/lib/format';
import { checkTierName } from '@/lib/tier-input';
import { propagationText, type TTier } from '@/lib/tiers';
import { AdmissionChart } from './admission-chart';
import { TierConcurrency } from './tier-concurrency';
import { TierLimits } from './tier-limits';

type TProps = { tier: TTier; canOperate: boolean; isAdmin: boolean; now: number; fetchedAt: number };

export function TierCard({ tier, canOperate, isAdmin, now, fetchedAt }: TProps) {
  const p = tier.pause;
  return (
    <section
      className={`tier-card${tier.paused ? ' paused' : ''}${tier.retired ? ' retired' : ''}`}
      data-testid="tier-card"
      data-tier={tier.name}
    >
      <div className="tier-head">
        <h2>{tier.name}</h2>
        {tier.retired ? (
          <span className="badge revoked">retired</span>
        ) : tier.paused ? (
          <span className="badge paused-badge">paused</span>
        ) : (
          <span className="badge online">serving</span>
        )}
        <span
          className="badge"
          title="What the gateway does when admission cannot answer: open = serve, closed = refuse"
        >
          fails {tier.failMode}
        </span>
        {isAdmin && <TierSettings tier={tier} />}
      </div>
      {p && (
        <div className="pause-details" data-testid="pause-details">
          <div>
            <b>Paused</b> at <span title={p.at}>{dateTime(p.at)}</span> by <b>{p.by ?? 'unknown'}</b>: “{p.reason}”
          </div>
          <div>
            {p.resumeAt ? (
              <>
                Auto-resume at <span title={p.resumeAt}>{dateTime(p.resumeAt)}</span>
                {now > 0 && ` (in ${duration((Date.parse(p.resumeAt) - now) / 1000)})`}
              </>
            ) : (
              'No auto-resume: paused until someone resumes it (header).'
            )}
          </div>
          <div data-testid="propagation">Propagation: {propagationText(p.propagation)}</div>
        </div>
      )}
      <div className="tier-body">
        <div className="tier-rules">
          <TierLimits tier={tier} canOperate={canOperate} isAdmin={isAdmin} now={now} fetchedAt={fetchedAt} />
          <TierConcurrency tier={tier} isAdmin={isAdmin} />
        </div>
        <AdmissionChart lastHour={tier.lastHour} now={now} />
      </div>
    </section>
  );
}

/** Rename, fail mode and retire: admin only, and the server checks again. */
function TierSettings({ tier }: { tier: TTier }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(tier.name);
  const [invalid, setInvalid] = useState<string | null>(null);
  const update = useMutation(
    trpc.tiers.update.mutationOptions({
      onSuccess: () => {
        setRenaming(false);
        void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
      },
    }),
  );
  const error = invalid ?? update.error?.message ?? null;
  return (
    <div className="tier-settings">
      {renaming ? (
        <form
          className="row compact"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const checked = checkTierName(name);
            if (!checked.ok) return setInvalid(checked.error);
            setInvalid(null);
            if (checked.value !== tier.name) update.mutate({ tier: tier.name, name: checked.value });
            else setRenaming(false);
          }}
        >
          <label className="inline">
            New name
            <input name="tier-name" autoFocus value={name} onChange={(e) => setName(e.target.value)} size={14} />
          </label>
          <button type="submit" disabled={update.isPending}>
            Rename
          </button>
          <button type="button" className="secondary" onClick={() => setRenaming(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <>
          <button className="link" onClick={() => setRenaming(true)}>
            rename
          </button>
          <label className="inline">
            fail mode
            <select
              name="fail-mode"
              value={tier.failMode}
              disabled={update.isPending}
              onChange={(e) => update.mutate({ tier: tier.name, failMode: e.target.value as TTier['failMode'] })}
            >
              <option value="open">open</option>
              <option value="closed">closed</option>
            </select>
          </label>
          {tier.retired ? (
            <button className="link" onClick={() => update.mutate({ tier: tier.name, retired: false })}>
              restore
            </button>
          ) : (
            <button
              className="link danger"
              onClick={() => {
                const reason = window.prompt(
                  `Retire tier ${tier.name}? It stops serving anyone (and any pause on it is lifted). Reason (optional):`,
                );
                if (reason !== null)
                  update.mutate({
                    tier: tier.name,
                    retired: true,
                    ...(reason.trim() ? { reason: reason.trim() } : {}),
                  });
              }}
            >
              retire
            </button>
          )}
        </>
      )}
      {error && (
        <div className="error small" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
