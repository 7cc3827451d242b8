'use client';

const COLORS = ['#4cc2ff', '#53d18b', '#f5b94c', '#ff6b6b', '#c792ea', '#7fdbca', '#ffcb6b', '#f78c6c'];

export type TSeries = { label: string; points: [number, number | null][] };

/**
 * A small SVG line chart: one line per series, gaps where a reading is
 * unknown (null is drawn as a gap, never as 0).
 */
export function LineChart({ title, unit, series, from, to, max }: { title: string; unit: string; series: TSeries[]; from: number; to: number; max?: number }) {
  const W = 420;
  const H = 140;
  const pad = { l: 38, r: 8, t: 8, b: 18 };
  const values = series.flatMap((s) => s.points.map((p) => p[1]).filter((v): v is number => v !== null));
  const top = max ?? Math.max(1, ...values) * 1.1;
  const x = (t: number) => pad.l + ((t - from) / Math.max(1, to - from)) * (W - pad.l - pad.r);
  const y = (v: number) => H - pad.b - (v / top) * (H - pad.t - pad.b);
  return (
    <figure style={{ margin: 0 }} aria-label={title} data-testid="chart">
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img">
        <title>{title}</title>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={pad.l} x2={W - pad.r} y1={y(top * f)} y2={y(top * f)} stroke="#2a3039" />
            <text x={pad.l - 4} y={y(top * f) + 4} fill="#8b94a3" fontSize="10" textAnchor="end">{Math.round(top * f)}{unit}</text>
          </g>
        ))}
        <text x={pad.l} y={H - 4} fill="#8b94a3" fontSize="10">{new Date(from).toLocaleTimeString()}</text>
        <text x={W - pad.r} y={H - 4} fill="#8b94a3" fontSize="10" textAnchor="end">{new Date(to).toLocaleTimeString()}</text>
        {series.map((s, i) => {
          let d = '';
          let pen = false;
          for (const [t, v] of s.points) {
            if (v === null) {
              pen = false;
              continue;
            }
            d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
            pen = true;
          }
          return <path key={s.label} d={d} fill="none" stroke={COLORS[i % COLORS.length]} strokeWidth="1.5"><title>{s.label}</title></path>;
        })}
      </svg>
      {values.length === 0 && <figcaption className="muted">no data in this range</figcaption>}
    </figure>
  );
}
