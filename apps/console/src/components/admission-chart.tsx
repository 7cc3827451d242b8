import { useId } from 'react';
import type { TTier } from '@/lib/tiers';

const MINUTES = 60;
const W = 360;
const H = 64;
const BAR = W / MINUTES;

/**
 * Admitted (green) and denied (red) decisions per minute over the last hour,
 * stacked, as an inline SVG: 60 rectangles do not need a chart library.
 */
export function AdmissionChart({ lastHour, now }: { lastHour: TTier['lastHour']; now: number }) {
  const titleId = useId();
  // Minutes with no decisions have no row on the server; fill the gaps with zeros.
  const byMinute = new Map(lastHour.perMinute.map((p) => [Math.floor(Date.parse(p.minute) / 60_000), p]));
  const current = Math.floor(now / 60_000);
  const slots = Array.from({ length: MINUTES }, (_, i) => {
    const minute = current - (MINUTES - 1) + i;
    const p = byMinute.get(minute);
    return { minute, allowed: p?.allowed ?? 0, denied: p?.denied ?? 0 };
  });
  const max = Math.max(1, ...slots.map((s) => s.allowed + s.denied));
  const scale = (n: number) => (n / max) * (H - 2);
  const hhmm = (minute: number) => new Date(minute * 60_000).toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit', hour12: false });
  return (
    <figure className="chart" data-testid="admission-chart">
      <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={titleId}>
        <title id={titleId}>{`Last hour: ${lastHour.allowed} admitted, ${lastHour.denied} denied (per minute, peak ${max})`}</title>
        <line x1={0} y1={H - 0.5} x2={W} y2={H - 0.5} className="axis" />
        {slots.map((s, i) => {
          const a = scale(s.allowed);
          const d = scale(s.denied);
          return (
            <g key={s.minute}>
              <title>{`${hhmm(s.minute)} · ${s.allowed} admitted, ${s.denied} denied`}</title>
              {/* a full-height transparent target so the hover title works on empty minutes too */}
              <rect x={i * BAR} y={0} width={BAR} height={H} fill="transparent" />
              {a > 0 && <rect className="ok" x={i * BAR + 0.5} y={H - 1 - a} width={BAR - 1} height={a} />}
              {d > 0 && <rect className="bad" x={i * BAR + 0.5} y={H - 1 - a - d} width={BAR - 1} height={d} />}
            </g>
          );
        })}
      </svg>
      <figcaption className="small">
        <span className="legend ok" /> {lastHour.allowed.toLocaleString('en-US')} admitted · <span className="legend bad" />{' '}
        {lastHour.denied.toLocaleString('en-US')} denied <span className="muted">in the last hour · peak {max}/min</span>
      </figcaption>
    </figure>
  );
}
