'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { ago } from '@/lib/format';
import { checkTierName } from '@/lib/tier-input';
import { TIERS_LIST_INPUT, TIERS_REFETCH_MS } from '@/lib/tiers';
import { useNow } from '@/lib/use-now';
import { TierCard } from './tier-card';

type TRole = 'viewer' | 'operator' | 'admin';

export function TiersAdmin({ role }: { role: TRole }) {
  const trpc = useTRPC();
  const list = useQuery({ ...trpc.tiers.list.queryOptions(TIERS_LIST_INPUT), refetchInterval: TIERS_REFETCH_MS });
  const now = useNow();
  const isAdmin = role === 'admin';
  const canOperate = role !== 'viewer';
  if (list.error && !list.data) return <div className="error">{list.error.message}</div>;
  if (!list.data) return <div className="muted">Loading…</div>;
  const { tiers, instances, configVersion } = list.data;
  const active = tiers.filter((t) => !t.retired);
  const retired = tiers.filter((t) => t.retired);
  return (
    <>
      <p className="muted" data-testid="instances">
        Config version {configVersion} · {instances.length} live console instance{instances.length === 1 ? '' : 's'}
        {instances.map((i) => (
          <span key={i.id} className="instance" title={`pid ${i.pid}, heartbeat ${i.heartbeatAt}`}>
            {' '}
            <code>{i.id}</code> v{i.configVersion} ({now ? ago(i.heartbeatAt, now) : ''})
          </span>
        ))}
        {list.error && <span className="error"> · refresh failed: {list.error.message}</span>}
      </p>
      {!canOperate && <div className="notice">You are a viewer: you see every tier but cannot change anything.</div>}
      {isAdmin && <CreateTierForm />}
      {active.map((t) => (
        <TierCard
          key={t.id}
          tier={t}
          canOperate={canOperate}
          isAdmin={isAdmin}
          now={now}
          fetchedAt={list.dataUpdatedAt}
        />
      ))}
      {active.length === 0 && <div className="empty">No tiers yet.</div>}
      {retired.length > 0 && (
        <details className="retired-tiers">
          <summary>
            {retired.length} retired tier{retired.length === 1 ? '' : 's'}
          </summary>
          {retired.map((t) => (
            <TierCard
              key={t.id}
              tier={t}
              canOperate={canOperate}
              isAdmin={isAdmin}
              now={now}
              fetchedAt={list.dataUpdatedAt}
            />
          ))}
        </details>
      )}
    </>
  );
}

function CreateTierForm() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [failMode, setFailMode] = useState<'open' | 'closed'>('closed');
  const [invalid, setInvalid] = useState<string | null>(null);
  const create = useMutation(
    trpc.tiers.create.mutationOptions({
      onSuccess: () => {
        setName('');
        void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
      },
    }),
  );
  return (
    <form
      className="row"
      aria-label="Create tier"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const checked = checkTierName(name);
        if (!checked.ok) return setInvalid(checked.error);
        setInvalid(null);
        create.mutate({ name: checked.value, failMode });
      }}
    >
      <label>
        New tier
        <input
          name="new-tier"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="enterprise"
          maxLength={64}
        />
      </label>
      <label>
        Fail mode
        <select
          name="new-tier-fail-mode"
          value={failMode}
          onChange={(e) => setFailMode(e.target.value as 'open' | 'closed')}
        >
          <option value="closed">closed</option>
          <option value="open">open</option>
        </select>
      </label>
      <button type="submit" disabled={create.isPending}>
        Create tier
      </button>
      {(invalid ?? create.error) && (
        <div className="error full" role="alert">
          {invalid ?? create.error?.message}
        </div>
      )}
    </form>
  );
}
