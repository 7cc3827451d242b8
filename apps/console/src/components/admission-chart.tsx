'use client';

import { useMemo } from 'react';
import type { TTier } from '@/lib/tiers';
import { TimeSeriesChart, type TChartSeries } from './time-series-chart';

const MINUTES = 60;

/**
 * Admitted (green) and denied (red) decisions per minute over the last hour, stacked bars,
 * with the minute's counts in the readout under the cursor.
 */
export function AdmissionChart({ lastHour, now }: { lastHour: TTier['lastHour']; now: number }) {
  const current = Math.floor(now / 60_000);
  const { times, series, peak } = useMemo(() => {
    // Minutes with no decisions have no row on the server: there were none, so these zeros are real.
    const byMinute = new Map(lastHour.perMinute.map((p) => [Math.floor(Date.parse(p.minute) / 60_000), p]));
    const minutes = Array.from({ length: MINUTES }, (_, i) => current - (MINUTES - 1) + i);
    const allowed = minutes.map((m) => byMinute.get(m)?.allowed ?? 0);
    const denied = minutes.map((m) => byMinute.get(m)?.denied ?? 0);
    const s: TChartSeries[] = [
      { label: 'admitted', values: allowed, color: '#53d18b' },
      { label: 'denied', values: denied, color: '#ff6b6b' },
    ];
    return {
      times: minutes.map((m) => m * 60_000),
      series: s,
      peak: Math.max(1, ...minutes.map((_, i) => allowed[i]! + denied[i]!)),
    };
  }, [lastHour.perMinute, current]);
  // Half a minute of air on each side so the first and last bars are whole.
  const window = { from: (current - MINUTES + 0.5) * 60_000, to: (current + 0.5) * 60_000 };
  return (
    <div className="admission-chart" data-testid="admission-chart">
      <TimeSeriesChart
        title={`Last hour: ${lastHour.allowed} admitted, ${lastHour.denied} denied (per minute, peak ${peak})`}
        unit=""
        times={times}
        series={series}
        window={window}
        stacked
        height={110}
        empty=""
      />
      <p className="small">
        <span className="legend ok" /> {lastHour.allowed.toLocaleString('en-US')} admitted ·{' '}
        <span className="legend bad" /> {lastHour.denied.toLocaleString('en-US')} denied{' '}
        <span className="muted">in the last hour · peak {peak}/min</span>
      </p>
    </div>
  );
}
