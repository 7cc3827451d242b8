'use client';

// The Capacity page: the fleet's capacity C as every instance applies it (slots, usable and hot
// GPUs, nodes offline, or "capacity unknown"), whether capacity admission is on, the charts of the
// last hour and each tier's share. Admins switch it on or off here, with a reason (audited through
// capacity.configure); everyone else reads.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { ago, dateTime } from '@/lib/format';
import { CAPACITY_REFETCH_MS, HISTORY_MINUTES, slotsText, type TCapacity } from '@/lib/capacity';
import { checkReason } from '@/lib/tier-input';
import { useNow } from '@/lib/use-now';
import { InflightChart, RefusalsChart } from './capacity-charts';
import { CapacityShares } from './capacity-shares';

function stateText(c: TCapacity): string {
  if (c.state === 'off') return 'disabled: only quotas apply';
  if (c.state === 'unknown')
    return `capacity unknown: ${c.stateReason ?? 'no telemetry'} (each tier's fail mode decides)`;
  return 'enabled: leases are admitted by the capacity rule';
}

export function CapacityPanel({ isAdmin }: { isAdmin: boolean }) {
  const trpc = useTRPC();
  const cap = useQuery({ ...trpc.capacity.get.queryOptions(), refetchInterval: CAPACITY_REFETCH_MS });
  const history = useQuery({
    ...trpc.capacity.history.queryOptions({ minutes: HISTORY_MINUTES }),
    refetchInterval: CAPACITY_REFETCH_MS * 2,
  });
  const [refusalTier, setRefusalTier] = useState<string | null>(null);
  const now = useNow();
  const c = cap.data;
  if (cap.error) return <div className="error">{cap.error.message}</div>;
  if (!c) return <p className="muted">Loading…</p>;
  const tierNames = c.tiers.map((t) => t.tier);

  return (
    <>
      <section className="capacity-head">
        <span className={`capacity-state ${c.state}`} data-testid="capacity-state" data-state={c.state}>
          {c.state === 'off' ? 'disabled' : c.state === 'ok' ? 'enabled' : 'capacity unknown'}
        </span>
        <span className="muted" data-testid="capacity-state-text">
          {stateText(c)}
        </span>
        {isAdmin && <EnabledSwitch enabled={c.enabled} />}
      </section>
      <dl className="capacity-figures" data-testid="capacity-figures">
        <Figure name="slots" label="Fleet capacity" value={`${slotsText(c.slots)} slots`} />
        <Figure name="usable-gpus" label="Usable GPUs" value={`${c.usableGpus} of ${c.gpusTotal}`} />
        <Figure
          name="hot-gpus"
          label="Hot GPUs"
          value={`${c.hotGpus}`}
          hint={`≥ ${c.hotTemperatureC} °C count ${c.hotWeight * 100} %`}
        />
        <Figure
          name="nodes-offline"
          label="Nodes offline"
          value={`${c.nodesOffline}`}
          hint={`${c.nodesOnline} online`}
        />
        <Figure name="inflight" label="In flight" value={`${c.inflight}`} hint={`${slotsText(c.free)} free`} />
      </dl>
      <p className="small muted">
        {c.slotsPerGpu} slot{c.slotsPerGpu === 1 ? '' : 's'} per usable GPU
        {Object.keys(c.slotsPerModel).length > 0 &&
          ` (${Object.entries(c.slotsPerModel)
            .map(([m, n]) => `${m}: ${n}`)
            .join(', ')})`}{' '}
        · measured {now ? ago(c.computedAt, now) : dateTime(c.computedAt)} by {c.computedBy}
        {c.telemetryAt ? ` · newest report ${dateTime(c.telemetryAt)}` : ' · no node has reported yet'}
        {c.gpusUnusable > 0 && ` · ${c.gpusUnusable} GPUs left out (missing or collector failing)`}
      </p>

      <h2>In flight and capacity</h2>
      {history.error && <div className="error">{history.error.message}</div>}
      {history.data && <InflightChart history={history.data} tiers={tierNames} />}

      <h2>Tiers</h2>
      <CapacityShares capacity={c} isAdmin={isAdmin} />

      <h2 className="row compact">
        Refusals
        <select
          aria-label="Refusals of tier"
          value={refusalTier ?? ''}
          onChange={(e) => setRefusalTier(e.target.value || null)}
        >
          <option value="">all tiers</option>
          {tierNames.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </h2>
      {history.data && <RefusalsChart history={history.data} tier={refusalTier} />}
    </>
  );
}

function Figure({ name, label, value, hint }: { name: string; label: string; value: string; hint?: string }) {
  return (
    <div className="capacity-figure" data-testid={`capacity-${name}`}>
      <dt>{label}</dt>
      <dd>
        <b>{value}</b>
        {hint && <span className="muted small"> {hint}</span>}
      </dd>
    </div>
  );
}

/** On or off, with the reason the audit log keeps; nothing is sent without one. */
function EnabledSwitch({ enabled }: { enabled: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [want, setWant] = useState<boolean | null>(null);
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const save = useMutation(
    trpc.capacity.configure.mutationOptions({
      onSuccess: () => {
        setWant(null);
        setReason('');
        void qc.invalidateQueries({ queryKey: trpc.capacity.get.queryKey() });
      },
    }),
  );
  return (
    <form
      className="row compact"
      aria-label="Capacity admission"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const r = checkReason(reason, { required: true });
        if (!r.ok) return setInvalid(r.error);
        setInvalid(null);
        save.mutate({ enabled: want ?? enabled, reason: r.value! });
      }}
    >
      <label className="inline">
        <input
          type="checkbox"
          name="enabled"
          checked={want ?? enabled}
          onChange={(e) => setWant(e.target.checked === enabled ? null : e.target.checked)}
        />
        Capacity admission
      </label>
      {want !== null && (
        <>
          <label>
            Reason (required)
            <input name="reason" value={reason} maxLength={500} autoFocus onChange={(e) => setReason(e.target.value)} />
          </label>
          <button type="submit" disabled={save.isPending}>
            {want ? 'Enable' : 'Disable'}
          </button>
          <button type="button" className="secondary" onClick={() => setWant(null)}>
            Cancel
          </button>
        </>
      )}
      {(invalid ?? save.error) && (
        <div className="error full" role="alert">
          {invalid ?? save.error?.message}
        </div>
      )}
    </form>
  );
}
