import type { TTiersList } from './client';

/** Columns padded to their widest cell, two spaces apart. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** 7260 → "2h 1m 0s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m ${s % 60}s`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** ISO in UTC to the second: unambiguous whatever the operator's time zone. */
export function utc(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}

function until(iso: string, now: Date): string {
  const s = (Date.parse(iso) - now.getTime()) / 1000;
  return s > 0 ? `in ${duration(s)}` : 'due';
}

type TTier = TTiersList['tiers'][number];
type TPropagation = NonNullable<NonNullable<TTier['pause']>['propagation']>;

export function propagation(p: TPropagation | null): string {
  if (!p) return 'propagation not recorded';
  const n = p.instances.length;
  if (p.appliedByAll && p.lastAppliedAt) {
    const ms = Date.parse(p.lastAppliedAt) - Date.parse(p.issuedAt);
    // Milliseconds are what a pause should take; an instance started after the pause shows up as minutes.
    return `applied by all ${n} instance${n === 1 ? '' : 's'} at ${p.lastAppliedAt.slice(11)} (+${ms < 10_000 ? `${ms} ms` : duration(ms / 1000)} after issue)`;
  }
  if (n === 0) return 'waiting for a live console instance to apply it';
  const waiting = p.instances.filter((i) => !i.appliedAt).map((i) => i.instanceId);
  return `waiting for instance${waiting.length === 1 ? '' : 's'} ${waiting.join(', ')} (${n - waiting.length}/${n} applied)`;
}

function concurrencyCell(c: TTier['concurrency']): string {
  if (c.perSubject === null && c.perTier === null) return '—';
  return `${c.perSubject ?? '∞'}/subject · ${c.perTier ?? '∞'}/tier`;
}

function limitCell(l: TTier['limits'][number]): string {
  if (l.temporary) return `${l.temporary.limit} temp${l.base === null ? '' : ` (base ${l.base})`}`;
  return l.base === null ? '—' : String(l.base);
}

/** `coolant status`: one table of tiers, then what needs attention (pauses, temporary limits), then the instances. */
export function renderStatus(data: TTiersList, url: string, now: Date): string {
  const out: string[] = [];
  const n = data.instances.length;
  out.push(`Coolant ${url} · config v${data.configVersion} · ${n} live console instance${n === 1 ? '' : 's'}`, '');
  out.push(
    table(
      ['TIER', 'STATE', 'FAILS', 'PER MINUTE', 'PER HOUR', 'PER DAY', 'CONCURRENCY', 'LAST HOUR'],
      data.tiers.map((t) => [
        t.name,
        t.retired ? 'retired' : t.paused ? 'PAUSED' : 'serving',
        t.failMode,
        ...(['minute', 'hour', 'day'] as const).map((w) => {
          // Per subject as before; a tier-wide limit on the same window follows it.
          const l = t.limits.find((x) => x.window === w && x.scope === 'subject');
          const all = t.limits.find((x) => x.window === w && x.scope === 'tier');
          const cell = l ? limitCell(l) : '—';
          return all ? `${cell} · tier ${limitCell(all)}` : cell;
        }),
        t.concurrency ? concurrencyCell(t.concurrency) : '—',
        `${t.lastHour.allowed} admitted / ${t.lastHour.denied} denied`,
      ]),
    ),
  );
  const paused = data.tiers.filter((t) => t.pause);
  if (paused.length) out.push('');
  for (const t of paused) {
    const p = t.pause!;
    out.push(`PAUSED ${t.name} since ${utc(p.at)} by ${p.by ?? 'unknown'}: "${p.reason ?? ''}"`);
    out.push(
      `  ${p.resumeAt ? `auto-resume ${utc(p.resumeAt)} (${until(p.resumeAt, now)})` : 'no auto-resume'} · ${propagation(p.propagation)}`,
    );
  }
  const temps = data.tiers.flatMap((t) =>
    t.limits.filter((l) => l.temporary).map((l) => ({ tier: t.name, ...l, temporary: l.temporary! })),
  );
  if (temps.length) out.push('');
  for (const l of temps) {
    out.push(
      `TEMPORARY ${l.tier} per ${l.window}${l.scope === 'tier' ? ' (tier-wide)' : ''}: ${l.temporary.limit} until ${utc(l.temporary.until)} (${duration(l.temporary.secondsLeft)} left) by ${l.temporary.createdBy}: "${l.temporary.reason}"`,
    );
  }
  out.push('');
  out.push(
    n === 0
      ? 'No live console instance (none has sent a heartbeat recently).'
      : table(
          ['INSTANCE', 'HOST', 'PID', 'CONFIG', 'HEARTBEAT'],
          data.instances.map((i) => [
            i.id,
            i.hostname,
            String(i.pid),
            `v${i.configVersion}`,
            `${Math.max(0, Math.round((now.getTime() - Date.parse(i.heartbeatAt)) / 1000))}s ago`,
          ]),
        ),
  );
  return out.join('\n');
}
