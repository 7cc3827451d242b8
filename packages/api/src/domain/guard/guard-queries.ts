import type { TDb } from '@coolant/db';
import type { TContext } from '../../context';
import { AppError } from '../../lib/app-error';
import { INSTANCE_LIVE_MS } from '../admission/config-sync';
import { recordAudit } from '../audit/record-audit';
import { actorName } from '../tokens/create-api-token';
import { emptyRuleRuntime, ruleStateLabel, type TRuleRuntime } from './decide';
import { describeStep, redactConfig, SIGNAL_LABELS, ZGuardConfig, type TGuardConfigInput } from './guard-config';
import { GUARD_ACTOR, loadGuard, undoStep, type TGuardRuntime } from './guard-service';
import { computeSignals, signalFor, type TFleetSignals } from './signals';

type TCtx = Pick<TContext, 'actor' | 'request' | 'now' | 'config' | 'db' | 'guard'>;

export type TGuardState = 'disarmed' | 'armed' | 'tripped' | 'cooling' | 'holding: no data';

function overallState(armed: boolean, rules: TRuleRuntime[]): TGuardState {
  if (!armed) return 'disarmed';
  const labels = rules.map(ruleStateLabel);
  for (const s of ['holding: no data', 'tripped', 'cooling'] as const) if (labels.includes(s)) return s;
  return 'armed';
}

/** What the Guard page and the banner show. */
export async function getGuard(ctx: Pick<TCtx, 'db' | 'now' | 'guard'>, opts: { brief?: boolean } = {}) {
  const now = ctx.now();
  const row = await loadGuard(ctx.db);
  // Brief (the banner on every page, every few seconds): what is shed and the state, without reading the telemetry window.
  const signals: TFleetSignals | null = opts.brief ? null : await computeSignals({ db: ctx.db, now, config: row.config });
  const lease = await ctx.db.guardLease.findUnique({ where: { id: 1 } });
  const rules = row.config.rules.map((rule) => {
    const rt = row.runtime.rules[rule.id] ?? emptyRuleRuntime();
    return {
      id: rule.id,
      enabled: rule.enabled,
      dryRun: rule.dryRun,
      signal: rule.signal,
      signalLabel: SIGNAL_LABELS[rule.signal],
      temperatureC: rule.temperatureC,
      trip: rule.trip,
      clear: rule.clear,
      tripWindowSeconds: rule.tripWindowSeconds,
      clearWindowSeconds: rule.clearWindowSeconds,
      value: signals ? signalFor(signals, rule) : (row.runtime.rules[rule.id]?.lastValue ?? null),
      state: row.armed && rule.enabled ? ruleStateLabel(rt) : ('disarmed' as const),
      phase: rt.phase,
      position: rt.steps.length,
      aboveSince: rt.aboveSince,
      belowSince: rt.belowSince,
      trippedAt: rt.trippedAt,
      holding: rt.holding,
      ladder: rule.ladder.map((step, i) => ({ ...step, index: i, description: describeStep(step), taken: rt.steps.find((s) => s.step === i) ?? null })),
      series: opts.brief ? [] : rt.series.map(([at, value]) => ({ at: new Date(at).toISOString(), value })),
    };
  });
  const shed = Object.entries(row.runtime.rules).flatMap(([id, rt]) => {
    const rule = row.config.rules.find((r) => r.id === id);
    return rt.steps
      .filter((s) => s.status === 'applied')
      .map((s) => ({ rule: id, step: s.step, tier: s.tier, action: s.action, description: rule?.ladder[s.step] ? describeStep(rule.ladder[s.step]!) : `${s.action} ${s.tier}`, since: s.at }));
  });
  const holding = rules.filter((r) => r.state === 'holding: no data');
  return {
    armed: row.armed,
    state: overallState(row.armed, row.config.rules.filter((r) => r.enabled).map((r) => row.runtime.rules[r.id] ?? emptyRuleRuntime())),
    configVersion: row.configVersion,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: row.updatedBy,
    config: redactConfig(row.config),
    signals,
    rules,
    shed,
    alert: holding.length ? `guard holding: ${holding.map((r) => `${r.id} (${r.holding?.reason ?? 'no data'}, since ${r.holding?.since ?? '?'})`).join(', ')}` : null,
    lastEvalAt: row.runtime.lastEvalAt,
    leader: lease ? { instanceId: lease.holder, expiresAt: lease.expiresAt.toISOString(), live: lease.expiresAt > now, thisInstance: lease.holder === ctx.guard.instanceId } : null,
  };
}

export async function updateGuard(ctx: TCtx, req: { config: TGuardConfigInput; reason?: string | undefined }) {
  const before = await loadGuard(ctx.db);
  const input = { ...req.config };
  // The page sends back the redacted secret when it was not changed: keep the stored one.
  if (input.webhook && input.webhook.secret === '••••••') {
    if (!before.config.webhook) throw new AppError('BAD_REQUEST', 'webhook.secret: set a secret');
    input.webhook = { ...input.webhook, secret: before.config.webhook.secret };
  }
  const parsed = ZGuardConfig.safeParse(input);
  if (!parsed.success) throw new AppError('BAD_REQUEST', parsed.error.issues.map((i) => `config.${i.path.join('.')}: ${i.message}`).join('; '));
  const config = parsed.data;
  // A rule that has shed something cannot disappear: nothing would ever undo its steps.
  for (const [id, rt] of Object.entries(before.runtime.rules)) {
    if (rt.steps.some((s) => s.status === 'applied') && !config.rules.some((r) => r.id === id)) {
      throw new AppError('CONFLICT', `rules: rule "${id}" has shed load (${rt.steps.filter((s) => s.status === 'applied').map((s) => `${s.action} ${s.tier}`).join(', ')}); disarm the guard (which restores it) or let it clear before removing the rule`);
    }
  }
  const version = before.configVersion + 1;
  await ctx.db.$transaction(async (tx) => {
    const r = await tx.guardState.updateMany({ where: { id: 1, configVersion: before.configVersion }, data: { config: JSON.stringify(config), configVersion: version, updatedBy: actorName(ctx.actor) } });
    if (r.count !== 1) throw new AppError('CONFLICT', 'the guard config changed meanwhile; reload and try again');
    await recordAudit({ db: tx, actor: ctx.actor, action: 'guard.update', target: 'guard', reason: req.reason, details: { before: redactConfig(before.config), after: redactConfig(config), guardConfigVersion: version }, ip: ctx.request.ip });
  });
  return { configVersion: version, config: redactConfig(config) };
}

export async function armGuard(ctx: TCtx, req: { reason?: string | undefined }) {
  const row = await loadGuard(ctx.db);
  const runtime: TGuardRuntime = { ...row.runtime, rules: Object.fromEntries(Object.entries(row.runtime.rules).map(([id, rt]) => [id, { ...rt, aboveSince: null, belowSince: null, holding: null }])) };
  await ctx.db.$transaction(async (tx) => {
    const r = await tx.guardState.updateMany({ where: { id: 1, seq: row.seq }, data: { armed: true, seq: row.seq + 1, state: JSON.stringify(runtime), updatedBy: actorName(ctx.actor) } });
    if (r.count !== 1) throw new AppError('CONFLICT', 'the guard is deciding right now; try again');
    await recordAudit({ db: tx, actor: ctx.actor, action: 'guard.arm', target: 'guard', reason: req.reason, details: { guardConfigVersion: row.configVersion }, ip: ctx.request.ip });
  });
  return { armed: true, configVersion: row.configVersion };
}

/**
 * Disarms the guard. With restore (the default) it also undoes, newest
 * first, every step it took that is still its own, in one config change.
 */
export async function disarmGuard(ctx: TCtx, req: { reason?: string | undefined; restore?: boolean | undefined }) {
  const restore = req.restore ?? true;
  for (let attempt = 0; attempt < 5; attempt++) {
    const row = await loadGuard(ctx.db);
    const now = ctx.now();
    try {
      return await ctx.config.mutate(async (tx, version) => {
        const restored: string[] = [];
        const rules: Record<string, TRuleRuntime> = {};
        for (const [id, rt] of Object.entries(row.runtime.rules)) {
          if (restore) {
            for (const s of [...rt.steps].reverse()) {
              if (s.status === 'applied' && (await undoStep(tx, s, now, version, { rule: id, step: s.step, signal: null, guardConfigVersion: row.configVersion }))) restored.push(`${s.action} ${s.tier}`);
            }
            rules[id] = { ...emptyRuleRuntime(), series: rt.series };
          } else {
            rules[id] = { ...rt, aboveSince: null, belowSince: null };
          }
        }
        const r = await tx.guardState.updateMany({ where: { id: 1, seq: row.seq }, data: { armed: false, seq: row.seq + 1, state: JSON.stringify({ ...row.runtime, rules }), updatedBy: actorName(ctx.actor) } });
        if (r.count !== 1) throw new AppError('CONFLICT', 'retry');
        await recordAudit({ db: tx, actor: ctx.actor, action: 'guard.disarm', target: 'guard', reason: req.reason, details: { restore, restored, guardConfigVersion: row.configVersion, configVersion: version }, ip: ctx.request.ip });
        return { armed: false, restored };
      });
    } catch (error) {
      if (!(error instanceof AppError && error.message === 'retry')) throw error;
    }
  }
  throw new AppError('CONFLICT', 'the guard kept deciding while disarming; try again');
}

export async function guardHistory(db: TDb, req: { limit: number; kinds?: string[] | undefined }) {
  const events = await db.guardEvent.findMany({ where: req.kinds?.length ? { kind: { in: req.kinds } } : {}, orderBy: [{ at: 'desc' }, { id: 'desc' }], take: req.limit });
  const drills = await db.guardDrill.findMany({ orderBy: { requestedAt: 'desc' }, take: 20 });
  return {
    events: events.map((e) => ({ ...e, at: e.at.toISOString(), signal: e.signal ? (JSON.parse(e.signal) as unknown) : null })),
    drills: drills.map(shapeDrill),
  };
}

function shapeDrill(d: Awaited<ReturnType<TDb['guardDrill']['findFirstOrThrow']>>) {
  const iso = (x: Date | null) => x?.toISOString() ?? null;
  return { ...d, requestedAt: d.requestedAt.toISOString(), decidedAt: iso(d.decidedAt), committedAt: iso(d.committedAt), appliedAllAt: iso(d.appliedAllAt) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The drill: asks the deciding instance (whichever holds the lease) to feed
 * a synthetic hot signal to a dry-run copy of the rules at its next
 * evaluation, then measures trigger → decision → commit → applied on every
 * live instance. Live: the decision really pauses the tier, and the drill
 * resumes it once every instance applied the pause.
 */
export async function runDrill(ctx: TCtx, req: { live: boolean; tier?: string | undefined }) {
  if (req.live && !req.tier) throw new AppError('BAD_REQUEST', 'tier: a live drill needs the tier to pause');
  const { db } = ctx;
  const row = await loadGuard(db);
  if (req.live) {
    const tier = await db.tier.findUnique({ where: { name: req.tier! } });
    if (!tier) throw new AppError('NOT_FOUND', `tier: no tier named "${req.tier}"`);
    if (tier.pausedAt) throw new AppError('CONFLICT', `tier "${req.tier}" is already paused`);
  }
  const requestedAt = ctx.now();
  const drill = await db.guardDrill.create({ data: { requestedAt, requestedBy: actorName(ctx.actor), live: req.live, tier: req.tier ?? null, state: 'requested' } });
  const deadline = Date.now() + (row.config.intervalSeconds * 2 + 10) * 1000;
  let d = drill;
  while (d.state === 'requested' || d.state === 'deciding') {
    if (Date.now() > deadline) {
      await db.guardDrill.update({ where: { id: drill.id }, data: { state: 'failed', error: 'no decision: is the guard evaluating on some instance?' } });
      throw new AppError('UNAVAILABLE', 'drill: no instance decided within two evaluation intervals (is any console running the guard?)');
    }
    await sleep(20);
    d = await db.guardDrill.findUniqueOrThrow({ where: { id: drill.id } });
  }
  if (d.state === 'failed') throw new AppError('CONFLICT', d.error ?? 'drill failed');
  const version = d.configVersion!;
  // Every live instance applying that version (or a later one) is the end of the chain.
  const liveSince = new Date(ctx.now().getTime() - INSTANCE_LIVE_MS);
  const instances = await db.instance.findMany({ where: { heartbeatAt: { gte: liveSince } } });
  let appliedAllAt: Date | null = null;
  const until = Date.now() + 5_000;
  while (Date.now() < until) {
    const apps = await db.configApplication.findMany({ where: { version: { gte: version }, instanceId: { in: instances.map((i) => i.id) } } });
    const first = instances.map((i) => Math.min(...apps.filter((a) => a.instanceId === i.id).map((a) => a.appliedAt.getTime())));
    if (first.every((t) => Number.isFinite(t))) {
      appliedAllAt = new Date(Math.max(...first));
      break;
    }
    await sleep(10);
  }
  if (req.live) {
    await ctx.config.mutate(async (tx, v) => {
      await undoStep(tx, { tier: req.tier!, action: 'pause', tempLimitId: null }, ctx.now(), v, { rule: `drill:${drill.id}`, step: 0, signal: null, guardConfigVersion: row.configVersion });
    });
  }
  const ms = (x: Date | null) => (x ? x.getTime() - requestedAt.getTime() : null);
  const done = await db.guardDrill.update({
    where: { id: drill.id },
    data: {
      state: appliedAllAt ? 'done' : 'failed',
      appliedAllAt,
      instances: instances.length,
      decisionMs: ms(d.decidedAt),
      commitMs: ms(d.committedAt),
      propagationMs: ms(appliedAllAt),
      ...(appliedAllAt ? {} : { error: 'not every live instance applied the change within 5 s' }),
    },
  });
  await recordAudit({ db, actor: ctx.actor, action: 'guard.drill', target: req.tier ?? 'guard', reason: req.live ? `live drill on ${req.tier}` : 'dry-run drill', details: shapeDrill(done), ip: ctx.request.ip });
  return { ...shapeDrill(done), intervalSeconds: row.config.intervalSeconds, applyAfterCommitMs: appliedAllAt && d.committedAt ? appliedAllAt.getTime() - d.committedAt.getTime() : null, actor: GUARD_ACTOR.name };
}
