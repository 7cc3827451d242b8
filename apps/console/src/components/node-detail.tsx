'use client';

import Link from 'next/link';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { ago } from '@/lib/format';
import { useNow } from '@/lib/use-now';
import { alignPoints, TimeSeriesChart, type TChartSeries } from './time-series-chart';
import styles from './fleet.module.css';

const METRICS = [
  { key: 1, title: 'Utilization', unit: '%', max: 100 },
  { key: 2, title: 'Temperature', unit: '°C', max: undefined },
  { key: 3, title: 'Power', unit: ' W', max: undefined },
  { key: 4, title: 'Memory used', unit: ' MiB', max: undefined },
] as const;

export function NodeDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const node = useQuery({ ...trpc.fleet.node.queryOptions({ id }), refetchInterval: 5_000 });
  const [range, setRange] = useState<'hour' | 'day'>('hour');
  const now = useNow();
  const gpuSeries = node.data?.charts[range];
  // One time axis for all GPUs, per metric; recomputed only when a refetch brings new points.
  const charts = useMemo(() => {
    const series = gpuSeries ?? [];
    return METRICS.map((m) => {
      const { times, values } = alignPoints(
        series.map((s) => ({ points: s.points.map((p) => [p[0] as number, p[m.key] as number | null]) })),
      );
      return {
        metric: m,
        times,
        series: series.map((s, i): TChartSeries => ({ label: `GPU ${s.gpuIndex}`, values: values[i]! })),
      };
    });
  }, [gpuSeries]);
  if (node.error) return <div className="error">{node.error.message}</div>;
  if (!node.data) return <div className="muted">Loading…</div>;
  const n = node.data;
  const to = now;
  const from = to - (range === 'hour' ? 3_600_000 : 86_400_000);
  const h = n.health;
  return (
    <>
      <p>
        <Link href="/fleet">← Fleet</Link>
      </p>
      <h1>
        {n.hostname} <span className={`badge ${n.status}`}>{n.status}</span>
      </h1>
      {n.dataProblems.length > 0 && (
        <div className={styles.dataProblemsBox} data-testid="data-problems" role="alert">
          <b>⚠ Stored data of this node did not read</b>
          <span className="muted"> (those values read as unknown):</span>
          <ul>
            {n.dataProblems.map((p) => (
              <li key={p} data-testid="data-problem">
                <code>{p}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      <table style={{ marginBottom: 16 }}>
        <tbody>
          <tr>
            <th>Agent</th>
            <td data-testid="agent-version">{n.agentVersion ?? '—'}</td>
            <th>Last report</th>
            <td>
              {n.lastSeenAt ? ago(n.lastSeenAt) : 'never'} (every ~{n.intervalSeconds}s)
            </td>
          </tr>
          <tr>
            <th>Last smoke test</th>
            <td colSpan={3} data-testid="last-smoke">
              {n.lastSmoke ? (
                <>
                  <span className={`badge ${n.lastSmoke.state === 'passed' ? 'online' : 'offline'}`}>
                    {n.lastSmoke.state === 'passed' ? '✓ match' : '✗ failed'}
                  </span>{' '}
                  &quot;{n.lastSmoke.prompt}&quot; {n.lastSmoke.at ? ago(n.lastSmoke.at) : ''}
                  {n.lastSmoke.totalMs !== null ? ` · ${n.lastSmoke.totalMs.toFixed(0)} ms` : ''}{' '}
                  {n.lastSmoke.reason && <span className="error">{n.lastSmoke.reason}</span>}
                </>
              ) : (
                <span className="muted">none yet (Smoke tests page)</span>
              )}
            </td>
          </tr>
          <tr>
            <th>CPU load</th>
            <td>{n.host?.cpuLoadPercent == null ? '—' : `${n.host.cpuLoadPercent.toFixed(1)} %`}</td>
            <th>Memory</th>
            <td>
              {n.host?.memUsedBytes == null || n.host.memTotalBytes == null
                ? '—'
                : `${(n.host.memUsedBytes / 2 ** 30).toFixed(1)} / ${(n.host.memTotalBytes / 2 ** 30).toFixed(1)} GiB`}
            </td>
          </tr>
          <tr>
            <th>Collector</th>
            <td data-testid="collector-health">
              {h ? (
                <>
                  {h.errors.length === 0 && h.nvidiaSmi.status === 'ok' ? (
                    <span className="badge online">healthy</span>
                  ) : (
                    <span className="badge offline">failing</span>
                  )}{' '}
                  {h.durationMs.toFixed(0)} ms · nvidia-smi {h.nvidiaSmi.status} · {h.gpuCount} GPUs
                  {h.errors.map((e) => (
                    <div key={e} className="error">
                      {e}
                    </div>
                  ))}
                  {h.inventoryMismatch && <div className="muted">inventory mismatch: {h.inventoryMismatchReason}</div>}
                  {h.timeouts.map((t) => (
                    <div key={t.part} className="error">
                      timeout: {t.part} after {t.afterMs} ms
                    </div>
                  ))}
                </>
              ) : (
                '—'
              )}
            </td>
            <th>Spool</th>
            <td data-testid="spool-health">
              {n.spoolDropped > 0 ? (
                <span className="error">{n.spoolDropped} samples dropped while the console was unreachable</span>
              ) : (
                'nothing dropped'
              )}
              {(h?.spoolQuarantined ?? 0) > 0 && (
                <div className="error">
                  {h!.spoolQuarantined} samples refused by the console and quarantined on the node
                  {h!.spoolQuarantineReason ? `: ${h!.spoolQuarantineReason}` : ''}
                </div>
              )}
            </td>
          </tr>
        </tbody>
      </table>
      <h2>GPUs</h2>
      <table data-testid="gpu-table">
        <thead>
          <tr>
            <th>#</th>
            <th>Model</th>
            <th>PCI bus</th>
            <th>Util</th>
            <th>Temp</th>
            <th>Memory</th>
            <th>Power</th>
            <th>Clocks</th>
            <th>Fan</th>
            <th>P-state</th>
            <th>Throttle</th>
            <th>ECC</th>
          </tr>
        </thead>
        <tbody>
          {n.gpus.map((g) => (
            <tr key={g.index} data-testid="gpu-row" style={g.missing ? { opacity: 0.5 } : undefined}>
              <td>
                {g.index}
                {g.missing && <span className="badge offline"> missing</span>}
              </td>
              <td>
                {g.name ?? '—'}
                <div className="muted">
                  {g.driverVersion ?? ''}
                  {g.migEnabled ? ' · MIG' : ''}
                </div>
              </td>
              <td>
                <code>{g.pciBusId ?? '—'}</code>
              </td>
              <td>
                {v(g.utilizationGpu, '%')}
                <div className="muted">mem {v(g.utilizationMemory, '%')}</div>
              </td>
              <td>
                {v(g.temperatureGpu, '°C')}
                <div className="muted">HBM {v(g.temperatureMemory, '°C')}</div>
              </td>
              <td>
                {v(g.memoryUsedMiB, '')} / {v(g.memoryTotalMiB, ' MiB')}
              </td>
              <td>
                {v(g.powerDrawW, ' W')} / {v(g.powerLimitW, ' W')}
              </td>
              <td>
                {v(g.clockGraphicsMHz, '')} / {v(g.clockMemoryMHz, ' MHz')}
              </td>
              <td>{v(g.fanPercent, '%')}</td>
              <td>{g.pstate ?? '—'}</td>
              <td>{g.throttleReasons ? g.throttleReasons.names.join(', ') || 'none' : '—'}</td>
              <td>
                {g.eccCorrected ?? '—'} / {g.eccUncorrected ?? '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row" style={{ marginTop: 16 }}>
        <h2 style={{ margin: 0 }}>Charts</h2>
        <button className={range === 'hour' ? '' : 'secondary'} onClick={() => setRange('hour')}>
          Last hour
        </button>
        <button className={range === 'day' ? '' : 'secondary'} onClick={() => setRange('day')}>
          Last day
        </button>
      </div>
      <div className={styles.charts}>
        {charts.map(({ metric: m, times, series }) => (
          <div key={m.title} className={styles.chart}>
            <h3>{m.title}</h3>
            <TimeSeriesChart
              key={range}
              title={`${m.title}, last ${range}`}
              unit={m.unit}
              times={times}
              series={series}
              window={{ from, to }}
              yMax={m.max}
            />
          </div>
        ))}
      </div>
      <h2>Alerts</h2>
      {n.alerts.length === 0 ? (
        <div className="muted">No alerts.</div>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Kind</th>
              <th>State</th>
              <th>Message</th>
              <th>Started</th>
              <th>Resolved</th>
            </tr>
          </thead>
          <tbody>
            {n.alerts.map((a) => (
              <tr key={a.id}>
                <td>{a.kind}</td>
                <td>{a.state}</td>
                <td>{a.message}</td>
                <td>{new Date(a.startedAt).toLocaleString()}</td>
                <td>{a.resolvedAt ? new Date(a.resolvedAt).toLocaleString() : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function v(x: number | null, unit: string): string {
  return x === null ? '—' : `${Math.round(x * 10) / 10}${unit}`;
}
