'use client';

// The console's one chart: values over time drawn by uPlot (canvas, fast at the thousands of raw
// samples a node's hour holds) instead of hand-made SVG, which clipped its y labels and had no time
// ticks, hover readout or zoom. Used by the node page (one line per GPU), the tier card (admitted and
// denied per minute, stacked bars), the guard page (the signal against its thresholds) and the
// Capacity page (in flight per tier, stacked, under the fleet's capacity as a line; refusals by reason).
//
// uPlot needs the DOM, so the chart is built in an effect, fed new data in place and destroyed on
// unmount. It writes styles through the CSSOM (element.style), which the console's CSP does not
// govern, and never through style attributes in markup.
import { useEffect, useLayoutEffect, useRef, type RefObject } from 'react';
import type uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { dateTime } from '@/lib/format';

export const CHART_COLORS = ['#4cc2ff', '#53d18b', '#f5b94c', '#ff6b6b', '#c792ea', '#7fdbca', '#ffcb6b', '#f78c6c'];

/** One per time of the chart: null is a gap in the line, never 0; undefined means "no sample at this time" and is skipped. */
export type TChartValues = (number | null | undefined)[];
export type TChartSeries = { label: string; values: TChartValues; color?: string; dash?: number[] };

type TProps = {
  /** What the chart shows, for screen readers and the figure's label. */
  title: string;
  /** Appended to every value and y label: '%', ' MiB', '°C'. */
  unit: string;
  /** Milliseconds since the epoch, ascending. */
  times: number[];
  series: TChartSeries[];
  /** The time range shown until the user zooms (a double click comes back to it); the data's own extent without it. */
  window?: { from: number; to: number } | undefined;
  /** A fixed top for the y axis (utilization: 100). */
  yMax?: number | undefined;
  /** The y axis reaches at least this high (the guard's trip threshold stays in view). */
  yAtLeast?: number | undefined;
  /** Stacked bars, first series at the bottom (the tier card's admitted and denied per minute). */
  stacked?: boolean;
  /** With `stacked`: series drawn as plain lines over the bars, not stacked (the fleet's capacity over in-flight). */
  lines?: TChartSeries[];
  height?: number;
  /** Shown under the chart when no series has a value. */
  empty?: string;
};

const DEFAULT_HEIGHT = 160;
const FONT = '11px ui-sans-serif, system-ui, sans-serif';
const AXIS = {
  stroke: '#8b94a3',
  grid: { stroke: '#2a3039', width: 1 },
  ticks: { stroke: '#2a3039', width: 1, size: 6 },
  font: FONT,
  gap: 4,
};

// 24-hour ticks like the rest of the console, the date under the first tick and at midnight.
// Columns: smallest tick step (ms), label, then the label added when the year/month/day/hour/minute/second rolls over.
const [SEC, MIN, HOUR, DAY] = [1_000, 60_000, 3_600_000, 86_400_000];
const NL_DATE = '\n{MMM} {D}';
const TIME_TICKS: uPlot.Axis.TimeValuesConfig = [
  [DAY, '{MMM} {D}', '\n{YYYY}', null, null, null, null, null, 1],
  [HOUR, '{HH}:{mm}', NL_DATE, null, NL_DATE, null, null, null, 1],
  [MIN, '{HH}:{mm}', NL_DATE, null, NL_DATE, null, null, null, 1],
  [SEC, '{HH}:{mm}:{ss}', NL_DATE, null, NL_DATE, null, null, null, 1],
  [1, '{HH}:{mm}:{ss}.{fff}', NL_DATE, null, NL_DATE, null, null, null, 1],
];

let measurer: CanvasRenderingContext2D | null = null;
/** Width of a label in CSS pixels, measured on a canvas of our own: uPlot caches its context's font, so we must not change it. */
function textWidth(text: string): number {
  measurer ??= document.createElement('canvas').getContext('2d');
  if (!measurer) return text.length * 7;
  measurer.font = FONT;
  return measurer.measureText(text).width;
}

/** The y axis is as wide as its widest label, so "78,112 MiB" is never cut. */
// The y labels depend on the height only, not on this width, so the layout settles in one cycle.
const axisSize: uPlot.Axis.Size = (self, values, axisIdx) => {
  const axis = self.axes[axisIdx]!;
  const widest = Math.max(0, ...(values ?? []).map((v) => textWidth(v ?? '')));
  return Math.ceil(widest + (axis.ticks?.size ?? 6) + (axis.gap ?? 4) + 4);
};

/** Digits enough for the tick step (0.05 → 2), none for steps of 1 and more. */
function decimalsFor(step: number): number {
  return step >= 1 || !Number.isFinite(step) || step <= 0 ? 0 : Math.min(6, Math.ceil(-Math.log10(step) - 1e-9));
}

export function formatValue(v: number, unit: string, decimals?: number): string {
  const d = decimals ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  return `${v.toLocaleString('en-US', { maximumFractionDigits: d })}${unit}`;
}

/** Series with their own sample times → one time axis, each series undefined where it has no sample. */
export function alignPoints(series: { points: [number, number | null][] }[]): {
  times: number[];
  values: TChartValues[];
} {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const at = new Map(times.map((t, i) => [t, i]));
  const values = series.map((s) => {
    const v: TChartValues = new Array<number | null | undefined>(times.length).fill(undefined);
    for (const [t, y] of s.points) v[at.get(t)!] = y;
    return v;
  });
  return { times, values };
}

/**
 * What uPlot draws: stacked bars are drawn as running totals, the topmost first so the lower ones
 * paint over it, then the unstacked lines. A series with no value at a time has no bar there (a
 * gap, not a bar of 0); the ones above it still stand on what is below.
 */
function drawnData(
  times: number[],
  series: TChartSeries[],
  stacked: boolean,
  lines: TChartSeries[],
): uPlot.AlignedData {
  if (!stacked) return [times, ...series.map((s) => s.values)];
  const totals: TChartValues[] = [];
  let below = times.map(() => 0);
  for (const s of series) {
    const base = below;
    below = base.map((b, i) => b + (s.values[i] ?? 0));
    totals.push(s.values.map((v, i) => (v == null ? v : base[i]! + v)));
  }
  return [times, ...totals.reverse(), ...lines.map((l) => l.values)];
}

type TRefs = { latest: RefObject<TProps>; zoomed: RefObject<boolean>; fig: RefObject<HTMLElement | null> };

/** uPlot's options for one chart; its callbacks read the latest props through the refs. */
function chartOptions(UPlot: typeof uPlot, el: HTMLElement, { latest, zoomed, fig }: TRefs): uPlot.Options {
  const p = latest.current;
  const { stacked = false, height = DEFAULT_HEIGHT } = p;
  const lines = stacked ? (p.lines ?? []) : [];
  // The labels are pixels on a canvas; the figure carries them as text too (data-y-labels), for tests and scrapers.
  let yLabels: string[] = [];
  // The series in the order uPlot draws them; raw (not stacked) values for the readout.
  const shown = stacked ? [...p.series].reverse() : p.series;
  const rawOf = (si: number) => {
    const { series: all, lines: over = [] } = latest.current;
    if (!stacked) return all[si - 1]?.values;
    return si <= all.length ? all[all.length - si]?.values : over[si - all.length - 1]?.values;
  };
  return {
    width: Math.max(200, el.clientWidth),
    height,
    ms: 1,
    scales: {
      x: {
        time: true,
        range: (_u, min, max) => {
          const w = latest.current.window;
          if (w && !zoomed.current) return [w.from, w.to];
          if (min == null || max == null) return [Date.now() - 3_600_000, Date.now()];
          // One sample, or bars: half a step of air on each side.
          return min === max ? [min - 30_000, max + 30_000] : [min, max];
        },
      },
      y: {
        range: (_u, min, max) => {
          const { yMax, yAtLeast } = latest.current;
          if (yMax !== undefined) return [0, yMax];
          const lo = Math.min(0, min ?? 0);
          const hi = Math.max(max ?? 0, yAtLeast ?? 0);
          return UPlot.rangeNum(lo, hi > lo ? hi : lo + 1, 0.1, true);
        },
      },
    },
    axes: [
      // Two lines of labels: the time, and the date under the first tick.
      { ...AXIS, size: 40, values: TIME_TICKS },
      {
        ...AXIS,
        size: axisSize,
        values: (_u, splits, _i, _space, incr) =>
          (yLabels = splits.map((v) => formatValue(v, latest.current.unit, decimalsFor(incr)))),
      },
    ],
    series: [
      { label: 'Time', value: (_u, v) => (v == null ? '—' : dateTime(new Date(v).toISOString())) },
      ...shown.map((s, i): uPlot.Series => {
        const color = s.color ?? CHART_COLORS[(stacked ? shown.length - 1 - i : i) % CHART_COLORS.length]!;
        return {
          label: s.label,
          stroke: color,
          width: stacked ? 0 : 1.5,
          spanGaps: false,
          // A dashed series is a reference line (a threshold): no sample points on it.
          ...(s.dash ? { dash: s.dash, points: { show: false } } : {}),
          ...(stacked ? { fill: color, paths: UPlot.paths.bars!({ size: [0.8, 24] }), points: { show: false } } : {}),
          value: (_u, _v, si, idx) => {
            const raw = idx == null ? undefined : rawOf(si)?.[idx];
            return raw == null ? '—' : formatValue(raw, latest.current.unit);
          },
        };
      }),
      ...lines.map((s, i): uPlot.Series => ({
        label: s.label,
        stroke: s.color ?? CHART_COLORS[(shown.length + i) % CHART_COLORS.length]!,
        width: 2,
        spanGaps: false,
        points: { show: false },
        ...(s.dash ? { dash: s.dash } : {}),
        value: (_u, v) => (v == null ? '—' : formatValue(v, latest.current.unit)),
      })),
    ],
    cursor: {
      drag: { x: true, y: false, setScale: true },
      bind: {
        // A double click returns to the page's time range (uPlot's own handler then re-ranges x).
        dblclick: (_u, _t, handler) => (e) => {
          zoomed.current = false;
          return handler(e);
        },
      },
    },
    hooks: {
      draw: [
        () => {
          if (fig.current) fig.current.dataset.yLabels = yLabels.join('|');
        },
      ],
      setSelect: [
        (u) => {
          if (u.select.width > 0) zoomed.current = true;
        },
      ],
    },
    legend: { live: true },
  };
}

export function TimeSeriesChart(props: TProps) {
  const { title, series, stacked = false, height = DEFAULT_HEIGHT, empty = 'no data in this range' } = props;
  const fig = useRef<HTMLElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // Read by uPlot's callbacks, which live as long as the chart, so they always see the latest props.
  const latest = useRef(props);
  // Before the effects below run, so setData and setScale re-range with the new props.
  useLayoutEffect(() => {
    latest.current = props;
  });
  const zoomed = useRef(false);
  const lines = props.lines;
  const shape = `${series.map((s) => s.label).join('|')}:${(lines ?? []).map((s) => s.label).join('|')}:${stacked}:${height}:${props.unit}`;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let u: uPlot | null = null;
    let resize: ResizeObserver | null = null;
    let gone = false;
    zoomed.current = false;
    // Loaded after the page (its own chunk, ~22 kB gzip) so pages with charts are interactive as soon as those without.
    void import('uplot').then(({ default: UPlot }) => {
      if (gone) return;
      u = new UPlot(
        chartOptions(UPlot, el, { latest, zoomed, fig }),
        drawnData(latest.current.times, latest.current.series, stacked, latest.current.lines ?? []),
        el,
      );
      plot.current = u;
      const chart = u;
      resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, el.clientWidth), height }));
      resize.observe(el);
    });
    return () => {
      gone = true;
      resize?.disconnect();
      u?.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its shape changes; new data goes through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);

  const { times, window: win } = props;
  useEffect(() => {
    // A zoomed chart keeps its zoom while new samples arrive.
    plot.current?.setData(drawnData(times, series, stacked, lines ?? []), !zoomed.current);
  }, [times, series, stacked, lines]);

  useEffect(() => {
    if (win && !zoomed.current) plot.current?.setScale('x', { min: win.from, max: win.to });
  }, [win?.from, win?.to]); // eslint-disable-line react-hooks/exhaustive-deps

  const hasData = [...series, ...(lines ?? [])].some((s) => s.values.some((v) => v != null));
  return (
    <figure ref={fig} className="ts-chart" aria-label={title} data-testid="chart">
      <div ref={box} />
      {!hasData && empty && <figcaption className="muted">{empty}</figcaption>}
    </figure>
  );
}
