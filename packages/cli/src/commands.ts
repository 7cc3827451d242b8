import type { TCommand } from './args';
import type { TClient, TConsumeResult } from './client';
import { reserveCapacity, showCapacity } from './capacity';
import { setConcurrency } from './concurrency';
import { EXIT } from './errors';
import { showNotifications, testNotifications } from './notifications';
import { duration, propagation, renderStatus, utc } from './format';

export type TResult = { json: unknown; text: string; exitCode: number };
export type TExecContext = {
  client: TClient;
  url: string;
  now: () => Date;
  signal: () => AbortSignal;
  sleep: (ms: number) => Promise<void>;
};

/** How long `pause` waits to report that every console instance applied it. */
const PROPAGATION_WAIT_MS = 3_000;

export async function execute(
  cmd: Exclude<TCommand, { kind: 'help' | 'version' }>,
  ctx: TExecContext,
): Promise<TResult> {
  const { client } = ctx;
  const opts = () => ({ signal: ctx.signal() });
  switch (cmd.kind) {
    case 'status': {
      const data = await client.tiers.list.query({ includeRetired: false }, opts());
      return { json: data, text: renderStatus(data, ctx.url, ctx.now()), exitCode: EXIT.ok };
    }
    case 'pause': {
      const res = await client.tiers.pause.mutate(
        { tier: cmd.tier, reason: cmd.reason, ...(cmd.until ? { resumeAt: cmd.until.toISOString() } : {}) },
        opts(),
      );
      const landed = await waitForPropagation(ctx, res.tier);
      const when = res.resumeAt
        ? `auto-resume ${utc(res.resumeAt)} (in ${duration((Date.parse(res.resumeAt) - ctx.now().getTime()) / 1000)})`
        : 'no auto-resume';
      return {
        json: { ...res, propagation: landed },
        text: `Paused tier ${res.tier} (config v${res.configVersion}): every request is refused; ${when}.\n${propagation(landed)}`,
        exitCode: EXIT.ok,
      };
    }
    case 'resume': {
      const res = await client.tiers.resume.mutate(
        { tier: cmd.tier, ...(cmd.reason ? { reason: cmd.reason } : {}) },
        opts(),
      );
      return { json: res, text: `Resumed tier ${res.tier} (config v${res.configVersion}).`, exitCode: EXIT.ok };
    }
    case 'limits-set': {
      const res = await client.tiers.setLimit.mutate(
        {
          tier: cmd.tier,
          window: cmd.window,
          scope: cmd.scope,
          limit: cmd.limit,
          ...(cmd.reason ? { reason: cmd.reason } : {}),
        },
        opts(),
      );
      const show = (n: number | null) => (n === null ? 'none' : String(n));
      return {
        json: res,
        text: `Base ${res.window} limit of ${res.tier}${scopeText(res.scope)}: ${show(res.before)} → ${show(res.limit)} (config v${res.configVersion}).`,
        exitCode: EXIT.ok,
      };
    }
    case 'limits-temp': {
      const res = await client.tiers.setTemporaryLimit.mutate(
        {
          tier: cmd.tier,
          window: cmd.window,
          scope: cmd.scope,
          limit: cmd.limit,
          until: cmd.until.toISOString(),
          reason: cmd.reason,
        },
        opts(),
      );
      const left = (Date.parse(res.until) - ctx.now().getTime()) / 1000;
      return {
        json: res,
        text: `Temporary ${res.window} limit of ${res.tier}${scopeText(res.scope)}: ${res.limit} until ${utc(res.until)} (${duration(left)} from now), then the base limit again (config v${res.configVersion}).`,
        exitCode: EXIT.ok,
      };
    }
    case 'limits-clear-temp': {
      const res = await client.tiers.clearTemporaryLimit.mutate(
        { tier: cmd.tier, window: cmd.window, scope: cmd.scope, ...(cmd.reason ? { reason: cmd.reason } : {}) },
        opts(),
      );
      return {
        json: res,
        text: `Cleared the temporary ${res.window} limit of ${res.tier}${scopeText(res.scope)}; the base limit applies (config v${res.configVersion}).`,
        exitCode: EXIT.ok,
      };
    }
    case 'drill': {
      // The drill waits for the deciding instance's next evaluation: up to two intervals and the propagation.
      const res = await client.guard.drill.mutate(
        { live: cmd.live, ...(cmd.tier ? { tier: cmd.tier } : {}) },
        { signal: AbortSignal.timeout(120_000) },
      );
      const ms = (v: number | null) => (v === null ? '—' : `${Math.round(v)} ms`);
      const rows = [
        ['trigger → decision', ms(res.decisionMs), `goal ≤ one evaluation interval (${res.intervalSeconds} s)`],
        [
          'trigger → committed',
          ms(res.commitMs),
          `config v${res.configVersion ?? '?'}${res.live ? `, ${res.tier} paused` : ', no change (dry run)'}`,
        ],
        [
          'trigger → applied on every instance',
          ms(res.propagationMs),
          `${res.instances ?? 0} instance(s); ${ms(res.applyAfterCommitMs)} after the commit (goal ≤ 1 s)`,
        ],
      ];
      const width = Math.max(...rows.map((r) => r[0]!.length));
      const text = [
        `Guard drill ${res.id} (${res.live ? `live: paused and resumed ${res.tier}` : 'dry run: nothing paused'}): ${res.state}${res.error ? ` — ${res.error}` : ''}`,
        ...rows.map((r) => `  ${r[0]!.padEnd(width)}  ${r[1]!.padStart(9)}  ${r[2]}`),
      ].join('\n');
      return { json: res, text, exitCode: res.state === 'done' ? EXIT.ok : EXIT.failed };
    }
    case 'capacity':
      return showCapacity(client, opts);
    case 'capacity-reserve':
      return reserveCapacity(client, opts, cmd);
    case 'concurrency-set':
      return setConcurrency(client, opts, cmd);
    case 'notifications':
      return showNotifications(client, opts, ctx.now());
    case 'notifications-test':
      return testNotifications(client, opts, cmd.channel);
    case 'consume': {
      const res = await client.admission.consume.mutate(
        { tier: cmd.tier, subject: cmd.subject, cost: cmd.cost },
        opts(),
      );
      return { json: res, text: describeDecision(res, cmd.subject), exitCode: res.allowed ? EXIT.ok : EXIT.denied };
    }
  }
}

/** Subject limits read as they always did; a tier-scope one says so. */
function scopeText(scope: string): string {
  return scope === 'tier' ? ' (tier-wide: all subjects together)' : '';
}

function describeDecision(r: TConsumeResult, subject: string): string {
  const left =
    r.limit === null
      ? 'no limit applies'
      : `${r.remaining} of ${r.limit} left this ${r.window}${r.resetAt ? ` (resets ${utc(r.resetAt)})` : ''}`;
  // The refund ticket is in --json output; it would only clutter a drill's terminal.
  if (r.allowed) return `ALLOWED ${r.tier}/${subject}: ${left}`;
  const retry = r.retryAfterSeconds === null ? '' : `; retry after ${r.retryAfterSeconds} s`;
  const why =
    r.reason === 'tier_paused'
      ? `tier_paused: "${r.pauseReason ?? ''}"`
      : r.reason === 'quota_exceeded'
        ? `quota_exceeded: ${left}`
        : r.reason;
  return `DENIED ${r.tier}/${subject}: ${why}${retry}`;
}

/** After a pause, the operator wants to know it holds everywhere; poll briefly, never fail the command over it. */
async function waitForPropagation(ctx: TExecContext, tier: string) {
  const deadline = ctx.now().getTime() + PROPAGATION_WAIT_MS;
  for (;;) {
    let data;
    try {
      data = await ctx.client.tiers.list.query({ includeRetired: false }, { signal: ctx.signal() });
    } catch {
      return null;
    }
    const p = data.tiers.find((t) => t.name === tier)?.pause?.propagation ?? null;
    if (!p || p.appliedByAll || ctx.now().getTime() >= deadline) return p;
    await ctx.sleep(200);
  }
}
