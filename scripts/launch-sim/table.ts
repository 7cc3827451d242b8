/**
 * The launch table: one row per figure of issue 13 §5, one column per mode, the goal beside it.
 * A mode that could not run says why instead of numbers.
 */
import { PAID } from './demand';
import type { TLaunchConfig, TModeResult } from './run-mode';

type TRan = Extract<TModeResult, { ran: true }>;
type TRow = { what: string; goal: string; cell: (r: TRan) => string };

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const sum = (xs: Record<string, number>) => Object.values(xs).reduce((a, b) => a + b, 0);
const reasons = (xs: Record<string, number>) =>
  Object.entries(xs)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
}

/** Per-reason counts of several tiers added up (merging the objects would keep only the last tier's count). */
function sumCounts(counts: Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const c of counts) for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
  return sum;
}

export function launchTable(cfg: TLaunchConfig, results: TModeResult[]): string {
  const maxFree = cfg.plan.work.free[1];
  const rows: TRow[] = [
    {
      what: 'paid refusals (plus + pro): before the node loss / after; requests given up',
      goal: '0 while paid demand fits its reservations',
      cell: (r) => {
        const c = PAID.map((t) => r.gateways.counts[t]);
        const before = c.reduce((s, x) => s + x.refusedBeforeLoss, 0);
        const after = c.reduce((s, x) => s + x.refusedAfterLoss, 0);
        const gave = c.reduce((s, x) => s + x.gaveUp, 0);
        const requests = c.reduce((s, x) => s + x.requests, 0);
        return `${before} / ${after}; ${gave} of ${requests} given up (${reasons(sumCounts(c.map((x) => x.refused)))})`;
      },
    },
    {
      what: 'paid generations admitted with no GPU able to take them / lost with a node',
      goal: '0 / (node loss)',
      cell: (r) =>
        PAID.map((t) => r.gateways.counts[t])
          .reduce((s, x) => [s[0]! + x.noGpu, s[1]! + x.lostWithNode], [0, 0])
          .join(' / '),
    },
    {
      what: 'free served vs leftover capacity (C − paid in flight), slot-seconds after the ramp',
      goal: '100 % ± 5 %',
      cell: (r) =>
        `${pct(r.observer.freeServed / r.observer.leftover)} (${Math.round(r.observer.freeServed)} of ${Math.round(r.observer.leftover)}; the capacity rule's share, leftover − unused paid reservations: ${pct(r.observer.ruleShare / r.observer.leftover)})`,
    },
    {
      what: `hottest GPU; GPU-minutes ≥ ${cfg.model.hotC} °C (compressed time); GPUs ever hot`,
      goal: 'none hot',
      cell: (r) => {
        const th = r.observer.thermal();
        return `${th.hottest.toFixed(1)} °C; ${th.gpuMinutesHot.toFixed(2)}; ${th.gpusEverHot} of ${cfg.nodes * cfg.gpusPerNode}`;
      },
    },
    {
      what: 'seconds from the node loss to the free tier drained to its new share',
      goal: `≤ 10 s + lease durations (free ≤ ${maxFree} s)`,
      cell: (r) => {
        const s = r.observer.drainSeconds();
        if (s === null) return `never (in ${(r.seconds - cfg.lossAt).toFixed(0)} s)`;
        // Say so when it took the guard pausing free altogether, not free shrinking to a share.
        const pause = r.guard.find(
          (g) => g.event.kind === 'step' && g.event.action === 'pause' && g.event.tier === 'free',
        );
        return `${s.toFixed(1)} s${pause && pause.t <= cfg.lossAt + s ? ` (free paused by the guard at ${pause.t.toFixed(0)} s)` : ''}`;
      },
    },
    {
      what: 'leases leaked: granted − released by the gateways; console in flight after the drain; expired',
      goal: '0',
      cell: (r) => {
        if (r.mode === 'a') return 'no leases (admitted work is not tracked)';
        const l = r.gateways.leases;
        const inflight = r.after ? r.after.inflight : '?';
        const expired = r.after ? r.after.tiers.reduce((s, t) => s + (t.leasesExpired ?? 0), 0) : '?';
        const errs = sum(l.releaseErrors) ? `; release errors ${reasons(l.releaseErrors)}` : '';
        return `${l.granted - l.released}; ${inflight}; ${expired}${l.missing ? `; ${l.missing} admitted without a lease` : ''}${errs}`;
      },
    },
    {
      what: 'decisions/s (consume + release/refund, whole run); consume p50 / p99 ms',
      goal: '',
      cell: (r) =>
        `${(r.gateways.decisions / r.wallSeconds).toFixed(0)}/s (${r.gateways.decisions} in ${r.wallSeconds.toFixed(0)} s); ${quantile(r.gateways.latencies, 0.5).toFixed(1)} / ${quantile(r.gateways.latencies, 0.99).toFixed(1)}`,
    },
    {
      what: 'free: requests, admitted (of which no GPU could take / lost with a node), refusals by reason, given up',
      goal: '',
      cell: (r) => {
        const f = r.gateways.counts.free;
        return `${f.requests}, ${f.admitted} (${f.noGpu} / ${f.lostWithNode}), ${reasons(f.refused)}, ${f.gaveUp}`;
      },
    },
    {
      what: 'guard actions (s after the launch start)',
      goal: '',
      cell: (r) =>
        r.guard
          .filter((g) => g.event.kind === 'step' || g.event.kind === 'unstep')
          .map(
            (g) =>
              `${g.event.kind === 'step' ? '' : 'undo '}${g.event.action ?? ''} ${g.event.tier ?? ''} @${g.t.toFixed(0)}`,
          )
          .join(', ') || 'none',
    },
    {
      what: 'console errors seen by the gateways (no answer in time: decided by the fail mode, open / closed); agent warnings',
      goal: '0',
      cell: (r) => {
        const c = PAID.concat('free').map((t) => r.gateways.counts[t]);
        const open = c.reduce((s, x) => s + x.failedOpen, 0);
        const closed = c.reduce((s, x) => s + x.failedClosed, 0);
        return `${c.reduce((s, x) => s + sum(x.errors), 0)}${open + closed ? ` (fail mode ${open} / ${closed})` : ''}${r.gateways.firstError ? ` (first: ${r.gateways.firstError.slice(0, 120)})` : ''}; ${r.agentWarnings}`;
      },
    },
  ];
  const headers = results.map((r) =>
    r.mode === 'a' ? '(a) quotas + pause + guard (today)' : '(b) fleet-aware admission (capacity + leases)',
  );
  const lines = [`| | ${headers.join(' | ')} | goal |`, `|---|${results.map(() => '---|').join('')}---|`];
  for (const row of rows)
    lines.push(
      `| ${row.what} | ${results.map((r) => (r.ran ? row.cell(r) : 'not run (below)')).join(' | ')} | ${row.goal} |`,
    );
  for (const r of results) if (!r.ran) lines.push('', `(${r.mode}) not run: ${r.why}`);
  for (const r of results) if (r.ran && r.trouble) lines.push('', `(${r.mode}) incomplete: ${r.trouble}`);
  return lines.join('\n');
}
