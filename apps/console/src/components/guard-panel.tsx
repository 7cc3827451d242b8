'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { dateTime } from '@/lib/format';
import type { TRole } from '@/lib/actor';
import { GUARD_REFETCH_MS } from './guard-banner';
import { TimeSeriesChart, type TChartSeries } from './time-series-chart';

type TPoint = { at: string; value: number | null };

/** The rule's signal over time against its trip and clear thresholds (dashed). */
function SignalChart({
  id,
  series,
  trip,
  clear,
  unit,
}: {
  id: string;
  series: TPoint[];
  trip: number;
  clear: number;
  unit: string;
}) {
  const { times, lines } = useMemo(() => {
    const t = series.map((p) => Date.parse(p.at));
    const l: TChartSeries[] = [
      { label: 'signal', values: series.map((p) => p.value), color: '#4cc2ff' },
      { label: 'trip', values: t.map(() => trip), color: '#ff6b6b', dash: [5, 3] },
      { label: 'clear', values: t.map(() => clear), color: '#53d18b', dash: [5, 3] },
    ];
    return { times: t, lines: l };
  }, [series, trip, clear]);
  return (
    <div data-testid="guard-chart" data-rule={id}>
      <TimeSeriesChart
        title={`rule ${id}: signal, trip ${trip}, clear ${clear}`}
        unit={unit}
        times={times}
        series={lines}
        yAtLeast={trip * 1.2}
        empty="no evaluation with data yet (the deciding instance records one every interval)"
      />
    </div>
  );
}

function stateClass(s: string): string {
  return `guard-state ${s.startsWith('holding') ? 'holding' : s}`;
}

/** One line for the history table; the whole payload is in the cell's title. */
function signalSummary(signal: unknown): string {
  if (!signal || typeof signal !== 'object') return '';
  const s = signal as {
    signal?: string;
    value?: number | null;
    trip?: number;
    clear?: number;
    gpus?: number;
    reason?: string;
    synthetic?: boolean;
  };
  if (s.synthetic) return `synthetic ${s.signal ?? ''} = ${s.value ?? '?'} (trip ${s.trip ?? '?'})`;
  return `${s.signal ?? ''} = ${s.value ?? 'no data'} (trip ${s.trip ?? '?'}, clear ${s.clear ?? '?'})${s.gpus ? ` · ${s.gpus} GPUs` : ''}${s.reason ? ` · ${s.reason}` : ''}`;
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${Math.round(v)} ms`);

export function GuardPanel({ role }: { role: TRole }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const guard = useQuery({ ...trpc.guard.get.queryOptions(), refetchInterval: GUARD_REFETCH_MS });
  const history = useQuery({
    ...trpc.guard.history.queryOptions({ limit: 100 }),
    refetchInterval: GUARD_REFETCH_MS * 2,
  });
  const invalidate = () => {
    void qc.invalidateQueries({ queryKey: trpc.guard.get.queryKey() });
    void qc.invalidateQueries({ queryKey: trpc.guard.history.queryKey() });
    void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
  };
  const arm = useMutation(trpc.guard.arm.mutationOptions({ onSuccess: invalidate }));
  const disarm = useMutation(trpc.guard.disarm.mutationOptions({ onSuccess: invalidate }));
  const update = useMutation(
    trpc.guard.update.mutationOptions({
      onSuccess: () => {
        setEditing(null);
        invalidate();
      },
    }),
  );
  const drill = useMutation(trpc.guard.drill.mutationOptions({ onSuccess: invalidate }));
  const [editing, setEditing] = useState<string | null>(null);
  const canOperate = role === 'operator' || role === 'admin';
  const isAdmin = role === 'admin';
  const g = guard.data;
  if (guard.error) return <div className="error">{guard.error.message}</div>;
  if (!g) return <p className="muted">Loading…</p>;

  return (
    <>
      <section className="row" style={{ alignItems: 'center', gap: 16 }}>
        <span className={stateClass(g.state)} data-testid="guard-state">
          {g.state}
        </span>
        <span className="muted">
          rules v{g.configVersion} · evaluated every {g.config.intervalSeconds} s over {g.config.windowSeconds} s · at
          most {g.config.maxActionsPerHour} actions/h · operators win for {g.config.operatorGraceMinutes} min
        </span>
        <span className="muted small">
          decider:{' '}
          {g.leader
            ? `${g.leader.instanceId}${g.leader.thisInstance ? ' (this instance)' : ''}${g.leader.live ? '' : ' — lease expired'}`
            : 'none yet'}
          {g.lastEvalAt ? ` · last evaluation ${dateTime(g.lastEvalAt)}` : ''}
        </span>
        {canOperate &&
          (g.armed ? (
            <button
              className="danger"
              onClick={() => disarm.mutate({ reason: 'from the Guard page', restore: true })}
              disabled={disarm.isPending}
            >
              Disarm (and restore what it shed)
            </button>
          ) : (
            <button onClick={() => arm.mutate({ reason: 'from the Guard page' })} disabled={arm.isPending}>
              Arm
            </button>
          ))}
      </section>
      {(arm.error ?? disarm.error) && <div className="error">{(arm.error ?? disarm.error)!.message}</div>}
      {g.alert && (
        <div className="error" role="alert">
          {g.alert}
        </div>
      )}
      <p className="muted">
        Fleet now:{' '}
        {!g.signals
          ? '—'
          : g.signals.data
            ? `${g.signals.gpus} GPUs on ${g.signals.nodes} nodes · hot share ${g.signals.values.hot_share ?? '—'} · p90 ${g.signals.values.p90_temperature ?? '—'} °C · mean util ${g.signals.values.mean_utilization ?? '—'} % · offline/stale share ${g.signals.values.offline_share ?? '—'}`
            : `no data (${g.signals.reason})`}
      </p>

      {g.rules.map((r) => (
        <section
          key={r.id}
          className="guard-card"
          data-testid="guard-rule"
          data-rule={r.id}
          style={{ marginBottom: 16 }}
        >
          <h2>
            Rule <code>{r.id}</code> <span className={stateClass(r.state)}>{r.state}</span>
            {r.dryRun && (
              <span className="guard-state" style={{ marginLeft: 8 }}>
                dry run
              </span>
            )}
          </h2>
          <p>
            {r.signalLabel}
            {r.signal === 'hot_share' ? ` (≥ ${r.temperatureC} °C)` : ''}:{' '}
            <b data-testid="guard-value">{r.value ?? 'no data'}</b> · trip ≥ {r.trip} for {r.tripWindowSeconds} s ·
            clear &lt; {r.clear} for {r.clearWindowSeconds} s
          </p>
          <SignalChart
            id={r.id}
            series={r.series}
            trip={r.trip}
            clear={r.clear}
            unit={r.signal === 'p90_temperature' ? '°' : r.signal === 'mean_utilization' ? '%' : ''}
          />
          <h3>
            Shed ladder — position {r.position} of {r.ladder.length}
          </h3>
          <ol className="guard-ladder">
            {r.ladder.map((s) => (
              <li key={s.index} className={s.taken ? 'taken' : ''} data-testid="guard-step">
                {s.description}
                {s.taken && (
                  <span className="muted">
                    {' '}
                    — {s.taken.status} at {dateTime(s.taken.at)}
                  </span>
                )}
              </li>
            ))}
          </ol>
        </section>
      ))}

      {isAdmin && (
        <section className="guard-card" style={{ marginBottom: 16 }}>
          <h2>Drill</h2>
          <p className="muted">
            Feeds a synthetic hot signal to a dry-run copy of the rules at the deciding instance&apos;s next evaluation
            and measures the chain to every console instance (a config version with no change). Nothing real is paused.
          </p>
          <button onClick={() => drill.mutate({})} disabled={drill.isPending} data-testid="guard-drill">
            {drill.isPending ? 'Drilling… (waits for the next evaluation)' : 'Run drill'}
          </button>
          {drill.error && <div className="error">{drill.error.message}</div>}
          {drill.data && (
            <table className="guard-figures" data-testid="guard-drill-result" style={{ marginTop: 8, width: 'auto' }}>
              <tbody>
                <tr>
                  <th>trigger → decision</th>
                  <td>{ms(drill.data.decisionMs)}</td>
                  <td className="muted">goal: within one evaluation interval ({drill.data.intervalSeconds} s)</td>
                </tr>
                <tr>
                  <th>trigger → committed</th>
                  <td>{ms(drill.data.commitMs)}</td>
                  <td className="muted">config version {drill.data.configVersion}</td>
                </tr>
                <tr>
                  <th>trigger → applied on every instance</th>
                  <td>{ms(drill.data.propagationMs)}</td>
                  <td className="muted">
                    {drill.data.instances} instance(s); {ms(drill.data.applyAfterCommitMs)} after the commit (goal ≤ 1
                    s)
                  </td>
                </tr>
              </tbody>
            </table>
          )}
        </section>
      )}

      {isAdmin && (
        <section className="guard-card" style={{ marginBottom: 16 }}>
          <h2>Rules (JSON)</h2>
          {editing === null ? (
            <button className="secondary" onClick={() => setEditing(JSON.stringify(g.config, null, 2))}>
              Edit rules
            </button>
          ) : (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                try {
                  update.mutate({
                    config: JSON.parse(editing) as Record<string, unknown>,
                    reason: 'edited on the Guard page',
                  });
                } catch (error) {
                  update.reset();
                  alert(`not JSON: ${(error as Error).message}`);
                }
              }}
            >
              <textarea
                aria-label="Guard rules"
                value={editing}
                onChange={(e) => setEditing(e.target.value)}
                rows={24}
                style={{ width: '100%', fontFamily: 'monospace' }}
              />
              <div className="row">
                <button type="submit" disabled={update.isPending}>
                  Save (new version)
                </button>
                <button type="button" className="secondary" onClick={() => setEditing(null)}>
                  Cancel
                </button>
              </div>
              {update.error && <div className="error">{update.error.message}</div>}
            </form>
          )}
        </section>
      )}

      <h2>History</h2>
      {history.error && <div className="error">{history.error.message}</div>}
      <table>
        <thead>
          <tr>
            <th>Time</th>
            <th>Event</th>
            <th>Rule</th>
            <th>Tier</th>
            <th>What</th>
            <th>Signal</th>
          </tr>
        </thead>
        <tbody>
          {(history.data?.events ?? []).map((e) => (
            <tr key={e.id} data-testid="guard-event" data-kind={e.kind}>
              <td>{dateTime(e.at)}</td>
              <td>
                <code>{e.kind}</code>
                {e.dryRun ? <span className="muted"> (dry run)</span> : null}
              </td>
              <td>{e.rule ?? ''}</td>
              <td>{e.tier ?? ''}</td>
              <td>{e.message}</td>
              <td>
                <code className="muted" title={e.signal ? JSON.stringify(e.signal) : ''}>
                  {signalSummary(e.signal)}
                </code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {(history.data?.drills.length ?? 0) > 0 && (
        <>
          <h3>Drills</h3>
          <table className="guard-figures">
            <thead>
              <tr>
                <th>Requested</th>
                <th>By</th>
                <th>Kind</th>
                <th>State</th>
                <th>→ decision</th>
                <th>→ committed</th>
                <th>→ every instance</th>
                <th>Instances</th>
              </tr>
            </thead>
            <tbody>
              {history.data!.drills.map((d) => (
                <tr key={d.id}>
                  <td>{dateTime(d.requestedAt)}</td>
                  <td>{d.requestedBy}</td>
                  <td>{d.live ? `live (${d.tier})` : 'dry run'}</td>
                  <td>
                    {d.state}
                    {d.error ? `: ${d.error}` : ''}
                  </td>
                  <td>{ms(d.decisionMs)}</td>
                  <td>{ms(d.commitMs)}</td>
                  <td>{ms(d.propagationMs)}</td>
                  <td>{d.instances ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
