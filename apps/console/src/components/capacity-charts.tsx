'use client';

// The Capacity page's two charts over the last hour: in flight per tier stacked under the fleet's
// capacity C (from the CapacitySample history, one per 10 s bucket), and refusals per minute
// stacked by reason (AdmissionRefusalStat). A 10 s bucket with no sample (no instance measured, or
// C was unknown) is null, drawn as a gap, never as 0 slots; a minute with no refusal row had none.
import { useMemo } from 'react';
import type { TCapacityHistory } from '@/lib/capacity';
import { slotsText } from '@/lib/capacity';
import { CHART_COLORS, TimeSeriesChart, type TChartSeries } from './time-series-chart';

const REASON_COLORS: Record<string, string> = {
  over_capacity: '#ff6b6b',
  capacity_unknown: '#c792ea',
  concurrency_limit: '#f5b94c',
  tier_limit: '#f78c6c',
  quota_exceeded: '#ffcb6b',
  tier_paused: '#8b94a3',
};

/** Consecutive equal values once: "8,4" for a fleet that fell from 8 slots to 4 (tests and scrapers read it). */
function steps(values: (number | null)[]): string {
  const out: number[] = [];
  for (const v of values) if (v !== null && out[out.length - 1] !== v) out.push(v);
  return out.join(',');
}

export function InflightChart({ history, tiers }: { history: TCapacityHistory; tiers: string[] }) {
  const { times, series, lines, window, capacitySteps } = useMemo(() => {
    const bucket = history.bucketSeconds * 1000;
    const from = Math.floor(Date.parse(history.from) / bucket) + 1;
    const to = Math.floor(Date.parse(history.to) / bucket);
    const byBucket = new Map(history.samples.map((s) => [Math.floor(Date.parse(s.at) / bucket), s]));
    const buckets = Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
    const at = buckets.map((b) => byBucket.get(b));
    const slots = at.map((s) => s?.slots ?? null);
    return {
      times: buckets.map((b) => b * bucket),
      // A tier absent from a sample (created since) has no bar there, like a missing sample.
      series: tiers.map((t, i): TChartSeries => ({
        label: t,
        values: at.map((s) => (s ? (s.tiers[t]?.inflight ?? null) : null)),
        color: CHART_COLORS[i % CHART_COLORS.length]!,
      })),
      lines: [{ label: 'capacity (slots)', values: slots, color: '#e6e9ef' }],
      window: { from: (from - 0.5) * bucket, to: (to + 0.5) * bucket },
      capacitySteps: steps(slots),
    };
  }, [history, tiers]);
  const last = history.samples[history.samples.length - 1];
  return (
    <div data-testid="inflight-chart" data-capacity-steps={capacitySteps}>
      <TimeSeriesChart
        title="In flight per tier (stacked) and fleet capacity in slots, last hour"
        unit=""
        times={times}
        series={series}
        lines={lines}
        window={window}
        stacked
        height={180}
        empty="no capacity sample in the last hour (one is written every 10 s while a console measures the fleet)"
      />
      <p className="small muted">
        {last ? `latest sample: ${slotsText(last.slots)} slots on ${last.usableGpus} usable GPUs` : 'no sample yet'} ·
        one sample per {history.bucketSeconds} s; gaps: no measurement or capacity unknown
      </p>
    </div>
  );
}

export function RefusalsChart({ history, tier }: { history: TCapacityHistory; tier: string | null }) {
  const { times, series, window, total, byReason } = useMemo(() => {
    const from = Math.floor(Date.parse(history.from) / 60_000) + 1;
    const to = Math.floor(Date.parse(history.to) / 60_000);
    const rows = history.refusals.filter((r) => tier === null || r.tier === tier);
    const reasons = [...new Set(rows.map((r) => r.reason))].sort();
    const minutes = Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
    const index = new Map(minutes.map((m, i) => [m, i]));
    const counts = new Map(reasons.map((r) => [r, minutes.map(() => 0)]));
    const sums = new Map(reasons.map((r) => [r, 0]));
    for (const r of rows) {
      const i = index.get(Math.floor(Date.parse(r.minute) / 60_000));
      if (i === undefined) continue;
      counts.get(r.reason)![i]! += r.count;
      sums.set(r.reason, sums.get(r.reason)! + r.count);
    }
    return {
      times: minutes.map((m) => m * 60_000),
      series: reasons.map((r, i): TChartSeries => ({
        label: r,
        values: counts.get(r)!,
        color: REASON_COLORS[r] ?? CHART_COLORS[i % CHART_COLORS.length]!,
      })),
      window: { from: (from - 0.5) * 60_000, to: (to + 0.5) * 60_000 },
      total: [...sums.values()].reduce((a, b) => a + b, 0),
      byReason: [...sums.entries()],
    };
  }, [history, tier]);
  return (
    <div data-testid="refusals-chart" data-total={total}>
      <TimeSeriesChart
        title={`Refusals per minute by reason${tier ? ` (${tier})` : ''}, last hour`}
        unit=""
        times={times}
        series={series}
        window={window}
        stacked
        height={130}
        empty=""
      />
      <p className="small" data-testid="refusal-totals">
        {byReason.length === 0
          ? 'no refusal in the last hour'
          : byReason.map(([r, n]) => (
              <span key={r} data-reason={r} data-count={n} className="refusal-total">
                {r}: <b>{n.toLocaleString('en-US')}</b>
              </span>
            ))}
      </p>
    </div>
  );
}
