'use client';

import Link from 'next/link';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { groupAlerts } from '@/lib/alert-groups';
import { ago } from '@/lib/format';
import { HEAT_SCALES, heatColor, type THeatMode } from '@/lib/heat';
import styles from './fleet.module.css';

type TStatusFilter = 'all' | 'online' | 'stale' | 'offline';

/** Every GPU of every node at a glance, live. Built to stay usable with 1,000 nodes × 8 GPUs. */
export function FleetTable() {
  const trpc = useTRPC();
  const fleet = useQuery({ ...trpc.fleet.list.queryOptions(), refetchInterval: 5_000 });
  const [mode, setMode] = useState<THeatMode>('temperature');
  const [status, setStatus] = useState<TStatusFilter>('all');
  const [model, setModel] = useState('');
  const [host, setHost] = useState('');

  const models = useMemo(
    () => [...new Set(fleet.data?.nodes.flatMap((n) => n.gpus.map((g) => g.name ?? 'unknown')) ?? [])].sort(),
    [fleet.data],
  );
  const nodes = useMemo(() => {
    const q = host.trim().toLowerCase();
    return (
      (fleet.data?.nodes ?? [])
        .filter((n) => status === 'all' || n.status === status)
        .filter((n) => !model || n.gpus.some((g) => (g.name ?? 'unknown') === model))
        .filter((n) => !q || n.hostname.toLowerCase().includes(q))
        // Trouble first: nodes with firing alerts, then offline and stale ones.
        .sort(
          (a, b) =>
            b.firingAlerts - a.firingAlerts || rank(a.status) - rank(b.status) || a.hostname.localeCompare(b.hostname),
        )
    );
  }, [fleet.data, status, model, host]);

  if (fleet.error) return <div className="error">{fleet.error.message}</div>;
  if (!fleet.data) return <div className="muted">Loading…</div>;
  const { summary, alerts } = fleet.data;
  const scale = HEAT_SCALES[mode];
  const hostOf = new Map(fleet.data.nodes.map((n) => [n.id, n.hostname]));
  const groups = groupAlerts(alerts, (id) => hostOf.get(id));
  const unreadable = fleet.data.nodes.filter((n) => n.dataProblems.length > 0);

  return (
    <>
      <div className={styles.summary} data-testid="fleet-summary">
        <div className={styles.stat}>
          <b>{summary.nodes}</b>
          <span>nodes</span>
        </div>
        <div className={styles.stat}>
          <b style={{ color: 'var(--ok)' }}>{summary.online}</b>
          <span>online</span>
        </div>
        <div className={styles.stat}>
          <b style={{ color: 'var(--warn)' }}>{summary.stale}</b>
          <span>stale</span>
        </div>
        <div className={styles.stat}>
          <b style={{ color: 'var(--bad)' }}>{summary.offline}</b>
          <span>offline</span>
        </div>
        <div className={styles.stat}>
          <b>{summary.gpus}</b>
          <span>GPUs</span>
        </div>
        <div className={styles.stat}>
          <b style={{ color: summary.firingAlerts ? 'var(--bad)' : undefined }}>{summary.firingAlerts}</b>
          <span>firing alerts</span>
        </div>
        {unreadable.length > 0 && (
          <div className={styles.stat} data-testid="unreadable-nodes" title="Nodes whose stored data did not read">
            <b style={{ color: 'var(--warn)' }}>{unreadable.length}</b>
            <span>with unreadable data</span>
          </div>
        )}
      </div>
      {groups.length > 0 && (
        // One row per node, expanding to its alerts; the list scrolls past a few rows so the grid stays in view.
        <div className={styles.alerts} data-testid="alerts">
          {groups.map((g) => (
            <details
              key={g.nodeId}
              className={g.state === 'pending' ? styles.pending : undefined}
              data-testid="alert-group"
              data-hostname={g.hostname}
              data-state={g.state}
              data-kinds={g.kinds.join(' ')}
            >
              <summary>
                <Link href={`/fleet/${g.nodeId}`}>{g.hostname}</Link>: {g.summary}{' '}
                <span className="muted">since {ago(g.since)}</span>
              </summary>
              <ul>
                {g.alerts.map((a) => (
                  <li
                    key={a.id}
                    className={a.state === 'pending' ? styles.pending : undefined}
                    data-testid="alert"
                    data-kind={a.kind}
                    data-state={a.state}
                  >
                    <b>{a.kind.replace('_', ' ')}</b> {a.state === 'pending' ? '(pending)' : ''} · {a.message}{' '}
                    <span className="muted">since {ago(a.firingAt ?? a.startedAt)}</span>
                  </li>
                ))}
              </ul>
            </details>
          ))}
        </div>
      )}
      {unreadable.length > 0 && (
        // Whole text here, one row per node: the card below only has room for the first words.
        <div className={styles.unreadableList} data-testid="data-problem-rows">
          {unreadable.map((n) => (
            <div key={n.id} data-testid="data-problem-row" data-hostname={n.hostname}>
              ⚠ <Link href={`/fleet/${n.id}`}>{n.hostname}</Link>: stored data did not read:{' '}
              {n.dataProblems.map((p, i) => (
                <span key={p}>
                  {i > 0 && '; '}
                  <code>{p}</code>
                </span>
              ))}
            </div>
          ))}
        </div>
      )}
      <div className={styles.controls}>
        <label>
          Colour by
          <select value={mode} onChange={(e) => setMode(e.target.value as THeatMode)} aria-label="Colour by">
            <option value="temperature">temperature</option>
            <option value="utilization">utilization</option>
          </select>
        </label>
        <label>
          Status
          <select
            value={status}
            onChange={(e) => setStatus(e.target.value as TStatusFilter)}
            aria-label="Status filter"
          >
            <option value="all">all</option>
            <option value="online">online</option>
            <option value="stale">stale</option>
            <option value="offline">offline</option>
          </select>
        </label>
        <label>
          Model
          <select value={model} onChange={(e) => setModel(e.target.value)} aria-label="Model filter">
            <option value="">all models</option>
            {models.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          Hostname
          <input
            value={host}
            onChange={(e) => setHost(e.target.value)}
            placeholder="filter"
            aria-label="Hostname filter"
          />
        </label>
        <div className={styles.legend}>
          {scale.min}
          {scale.unit}
          <div
            className={styles.legendBar}
            style={{
              background: `linear-gradient(90deg, ${[0, 0.25, 0.5, 0.75, 1].map((t) => heatColor(scale.min + t * (scale.max - scale.min), scale.min, scale.max)).join(',')})`,
            }}
          />
          {scale.max}
          {scale.unit} · grey: unknown
        </div>
      </div>
      {fleet.data.nodes.length === 0 && (
        <div className="empty">No node has enrolled yet. Start an agent with the enrollment token (Tokens page).</div>
      )}
      <div className={styles.grid} data-testid="heat-grid">
        {nodes.map((n) => (
          <Link
            key={n.id}
            href={`/fleet/${n.id}`}
            className={`${styles.node} ${n.firingAlerts ? styles.alerting : ''} ${n.dataProblems.length ? styles.unreadable : ''}`}
            data-testid="node-row"
            data-hostname={n.hostname}
            data-status={n.status}
          >
            <div className={styles.nodeHead}>
              <span title={n.hostname}>
                <span
                  className={styles.dot}
                  style={{
                    background:
                      n.status === 'online' ? 'var(--ok)' : n.status === 'stale' ? 'var(--warn)' : 'var(--bad)',
                  }}
                />
                {n.hostname}
              </span>
              <span>
                {n.lastSmoke && (
                  <span
                    title={`last smoke test ${n.lastSmoke.state}${n.lastSmoke.reason ? `: ${n.lastSmoke.reason}` : ''}`}
                    style={{ color: n.lastSmoke.state === 'passed' ? 'var(--ok)' : 'var(--bad)', marginRight: 4 }}
                  >
                    {n.lastSmoke.state === 'passed' ? '✓' : '✗'}
                  </span>
                )}
                <span className={`badge ${n.status}`}>{n.status}</span>
              </span>
            </div>
            <div className={styles.cells}>
              {n.gpus.map((g) => {
                const v = mode === 'temperature' ? g.temp : g.util;
                return (
                  <div
                    key={g.index}
                    className={`${styles.cell} ${g.missing ? styles.missing : ''}`}
                    style={{ background: heatColor(v, scale.min, scale.max) }}
                    title={`GPU ${g.index} ${g.name ?? ''}\n${g.missing ? 'MISSING from the last report\n' : ''}util ${fmt(g.util, '%')} · temp ${fmt(g.temp, '°C')} · ${fmt(g.power, 'W')} · mem ${fmt(g.memUsed, '')}/${fmt(g.memTotal, ' MiB')}`}
                    data-testid="gpu-cell"
                  />
                );
              })}
              {n.gpus.length === 0 && (
                <span className="muted" style={{ gridColumn: '1 / -1', fontSize: 11 }}>
                  no GPU reported
                </span>
              )}
            </div>
            {n.dataProblems.length > 0 && (
              <div
                className={styles.dataProblems}
                data-testid="data-problems"
                role="status"
                title={`Stored data that did not read:\n${n.dataProblems.join('\n')}`}
              >
                ⚠ unreadable: {n.dataProblems.join('; ')}
              </div>
            )}
          </Link>
        ))}
      </div>
    </>
  );
}

function rank(s: string): number {
  return s === 'offline' ? 0 : s === 'stale' ? 1 : 2;
}

function fmt(v: number | null, unit: string): string {
  return v === null ? '—' : `${Math.round(v * 10) / 10}${unit}`;
}
