import type { TDb, TDbTx } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import type { ConfigSync } from '../admission/config-sync';
import { GUARD_ACTOR } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import { findActiveTemporaryLimit, findTemporaryLimitInForce, isPausedAt, pausedByGuard, setByGuard, writeClearTemporaryLimit, writePause, writeResume, writeTemporaryLimit } from '../tiers/tier-state';
import { decideRule, emptyRuleRuntime, type TRuleRuntime, type TStepRecord } from './decide';
import { DEFAULT_GUARD_CONFIG, describeStep, ZGuardConfig, type TGuardConfig, type TGuardRule, type TGuardStep } from './guard-config';
import { computeSignals, signalFor, type TFleetSignals } from './signals';
import { sendWebhook, type TWebhookPayload } from './webhook';

export { GUARD_ACTOR };

export type TGuardRuntime = { rules: Record<string, TRuleRuntime>; lastEvalAt: string | null; lastEvalBy: string | null };

export type TGuardRow = { configVersion: number; config: TGuardConfig; armed: boolean; seq: number; runtime: TGuardRuntime; updatedAt: Date; updatedBy: string | null };

/** Another decider wrote the state first: this tick's changes are rolled back and it starts over next time. */
class LostRace extends Error {}

function parseRuntime(text: string): TGuardRuntime {
  try {
    const r = JSON.parse(text) as Partial<TGuardRuntime>;
    return { rules: r.rules ?? {}, lastEvalAt: r.lastEvalAt ?? null, lastEvalBy: r.lastEvalBy ?? null };
  } catch {
    return { rules: {}, lastEvalAt: null, lastEvalBy: null };
  }
}

export async function loadGuard(db: TDb | TDbTx): Promise<TGuardRow> {
  let row = await db.guardState.findUnique({ where: { id: 1 } });
  if (!row) {
    row = await db.guardState
      .create({ data: { id: 1, config: JSON.stringify(DEFAULT_GUARD_CONFIG), state: JSON.stringify({ rules: {}, lastEvalAt: null, lastEvalBy: null }) } })
      .catch(async () => (await db.guardState.findUnique({ where: { id: 1 } }))!);
  }
  const parsed = ZGuardConfig.safeParse(JSON.parse(row.config));
  return {
    configVersion: row.configVersion,
    config: parsed.success ? parsed.data : DEFAULT_GUARD_CONFIG,
    armed: row.armed,
    seq: row.seq,
    runtime: parseRuntime(row.state),
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
  };
}

/** Compare-and-set of the runtime: throws LostRace when someone else wrote since `seq` was read. */
async function casRuntime(tx: TDbTx | TDb, seq: number, runtime: TGuardRuntime): Promise<number> {
  const r = await tx.guardState.updateMany({ where: { id: 1, seq }, data: { seq: seq + 1, state: JSON.stringify(runtime) } });
  if (r.count !== 1) throw new LostRace('guard state changed under this decider');
  return seq + 1;
}

type TEventInput = { id?: string; kind: string; rule?: string | null; step?: number | null; tier?: string | null; action?: string | null; dryRun?: boolean; signal?: unknown; message: string };

export type TGuardServiceOptions = {
  db: TDb;
  config: ConfigSync;
  now: () => Date;
  log?: (m: string) => void;
  /** Webhook retry base delay (tests shorten it). */
  webhookBaseDelayMs?: number;
};

export type TTickResult = { leader: boolean; armed?: boolean; moves?: { rule: string; move: 'up' | 'down'; step: number; status: string }[]; events?: string[]; lost?: boolean };

/**
 * The guard: one decider (the holder of the lease row) evaluates the rules
 * every intervalSeconds, climbs the shed ladder while the fleet is hot and
 * back down when it cools. Every write of its state is a compare-and-set on
 * GuardState.seq in the same transaction as the tier change it makes, so two
 * instances that both believe they lead cannot both take a step.
 */
export class GuardService {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private ticking: Promise<TTickResult> | null = null;
  private readonly pendingHooks = new Set<Promise<unknown>>();
  readonly instanceId: string;
  private readonly log: (m: string) => void;

  constructor(private readonly opts: TGuardServiceOptions) {
    this.instanceId = opts.config.instanceId;
    this.log = opts.log ?? (() => {});
  }

  start(background: boolean): void {
    if (!background) return;
    this.running = true;
    let lastTick = 0;
    let intervalMs = DEFAULT_GUARD_CONFIG.intervalSeconds * 1000;
    // The interval is re-read at least every second, so a changed interval takes effect at once, not after the old one.
    const loop = async () => {
      if (!this.running) return;
      try {
        intervalMs = (await loadGuard(this.opts.db)).config.intervalSeconds * 1000;
        if (Date.now() - lastTick >= intervalMs) {
          lastTick = Date.now();
          await this.tick();
        }
      } catch (error) {
        this.log(`guard evaluation failed: ${(error as Error).message}`);
      }
      if (this.running) {
        this.timer = setTimeout(() => void loop(), Math.max(50, Math.min(1_000, lastTick + intervalMs - Date.now())));
        this.timer.unref();
      }
    };
    this.timer = setTimeout(() => void loop(), 500);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking?.catch(() => {});
    // Hand the lease back so another instance takes over at once rather than after the expiry.
    await this.opts.db.guardLease.deleteMany({ where: { id: 1, holder: this.instanceId } }).catch(() => {});
    await this.flushWebhooks();
  }

  /** Waits for the webhooks sent so far (tests). */
  async flushWebhooks(): Promise<void> {
    while (this.pendingHooks.size) await Promise.all([...this.pendingHooks]);
  }

  /** Leader if this instance holds (or just took) the lease; the lease lasts three intervals. */
  async acquireLease(now: Date, intervalSeconds: number): Promise<boolean> {
    const { db } = this.opts;
    const expiresAt = new Date(now.getTime() + Math.max(3_000, 3 * intervalSeconds * 1000));
    const renewed = await db.guardLease.updateMany({ where: { id: 1, holder: this.instanceId }, data: { expiresAt } });
    if (renewed.count === 1) return true;
    const taken = await db.guardLease.updateMany({ where: { id: 1, expiresAt: { lt: now } }, data: { holder: this.instanceId, acquiredAt: now, expiresAt } });
    if (taken.count === 1) {
      this.log(`guard: this instance (${this.instanceId}) now decides`);
      return true;
    }
    try {
      await db.guardLease.create({ data: { id: 1, holder: this.instanceId, acquiredAt: now, expiresAt } });
      return true;
    } catch {
      return false;
    }
  }

  /** One evaluation; concurrent calls share it. */
  tick(): Promise<TTickResult> {
    if (this.ticking) return this.ticking;
    this.ticking = this.evaluate().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async evaluate(): Promise<TTickResult> {
    if (this.stopped) return { leader: false };
    const { db } = this.opts;
    const now = this.opts.now();
    let row = await loadGuard(db);
    if (!(await this.acquireLease(now, row.config.intervalSeconds))) return { leader: false };
    const signals = await computeSignals({ db, now, config: row.config });
    await this.processDrills(row, signals).catch((e: Error) => this.log(`guard drill failed: ${e.message}`));
    row = await loadGuard(db);
    const runtime: TGuardRuntime = { ...row.runtime, rules: { ...row.runtime.rules }, lastEvalAt: now.toISOString(), lastEvalBy: this.instanceId };
    const result: TTickResult = { leader: true, armed: row.armed, moves: [], events: [] };
    let seq = row.seq;
    try {
      for (const rule of row.config.rules) {
        const prev = runtime.rules[rule.id] ?? emptyRuleRuntime();
        const value = signalFor(signals, rule);
        if (!row.armed || !rule.enabled) {
          // Still charted while disarmed; nothing decided.
          runtime.rules[rule.id] = { ...prev, lastValue: value, series: [...prev.series, [now.getTime(), value] as [number, number | null]].slice(-240) };
          continue;
        }
        const ctx = { row, runtime, signals, now, value };
        seq = await this.checkOverrides(rule, prev, ctx, seq);
        const d = decideRule(rule, runtime.rules[rule.id] ?? prev, value, now, signals.data ? 'no data' : signals.reason);
        runtime.rules[rule.id] = d.rt;
        const events: TEventInput[] = d.events.map((e) => this.phaseEvent(e, rule, d.rt, signals, value));
        if (d.move) {
          const moved = await this.move(rule, d.move, ctx, seq, events);
          seq = moved.seq;
          if (moved.step !== null) result.moves!.push({ rule: rule.id, move: d.move, step: moved.step, status: moved.status });
        } else if (events.length) {
          seq = await this.commit(db, seq, runtime, events, row.configVersion);
        }
        result.events!.push(...events.map((e) => e.kind));
      }
      await this.commit(db, seq, runtime, [], row.configVersion);
    } catch (error) {
      if (error instanceof LostRace) return { ...result, lost: true };
      throw error;
    }
    return result;
  }

  private phaseEvent(kind: string, rule: TGuardRule, rt: TRuleRuntime, signals: TFleetSignals, value: number | null): TEventInput {
    const v = value === null ? 'no data' : String(value);
    const messages: Record<string, string> = {
      trip: `rule ${rule.id} tripped: ${rule.signal} = ${v} ≥ ${rule.trip} for ${rule.tripWindowSeconds} s`,
      retrip: `rule ${rule.id} tripped again while cooling: ${rule.signal} = ${v} ≥ ${rule.trip}`,
      cooling: `rule ${rule.id} cleared: ${rule.signal} = ${v} < ${rule.clear} for ${rule.clearWindowSeconds} s; climbing down`,
      clear: `rule ${rule.id} clear: every step undone`,
      hold: `rule ${rule.id} holding: ${rt.holding?.reason ?? 'no data'} (counts neither as hot nor as cool)`,
      data_back: `rule ${rule.id}: telemetry back (${rule.signal} = ${v})`,
    };
    return { kind, rule: rule.id, dryRun: rule.dryRun, signal: signalPayload(signals, rule, value), message: messages[kind] ?? kind };
  }

  /** Writes the runtime (CAS) and events in one transaction; sends their webhooks after the commit. */
  private async commit(db: TDb, seq: number, runtime: TGuardRuntime, events: TEventInput[], guardVersion: number, tx?: TDbTx): Promise<number> {
    const write = async (t: TDbTx) => {
      const next = await casRuntime(t, seq, runtime);
      await this.writeEvents(t, events, guardVersion);
      return next;
    };
    const next = tx ? await write(tx) : await db.$transaction(write);
    if (!tx) this.notify(events, guardVersion);
    return next;
  }

  private async writeEvents(tx: TDbTx, events: TEventInput[], guardVersion: number): Promise<void> {
    const at = this.opts.now();
    for (const e of events) {
      const created = await tx.guardEvent.create({
        data: {
          at,
          kind: e.kind,
          rule: e.rule ?? null,
          step: e.step ?? null,
          tier: e.tier ?? null,
          action: e.action ?? null,
          dryRun: e.dryRun ?? false,
          configVersion: guardVersion,
          signal: e.signal === undefined ? null : JSON.stringify(e.signal),
          message: e.message,
          instanceId: this.instanceId,
        },
      });
      e.id = created.id;
      // Phase changes and alerts are in the audit log too; tier changes audit themselves where they are made.
      if (['trip', 'retrip', 'cooling', 'clear', 'hold', 'cap', 'skip', 'override'].includes(e.kind) || (e.dryRun && e.kind === 'step')) {
        await recordAudit({
          db: tx,
          actor: GUARD_ACTOR,
          action: `guard.${e.dryRun && e.kind === 'step' ? 'dry_run_step' : e.kind}`,
          target: e.tier ?? e.rule ?? null,
          reason: e.message,
          details: { rule: e.rule, step: e.step, signal: e.signal, guardConfigVersion: guardVersion },
          at,
        });
      }
    }
  }

  private notify(events: TEventInput[], guardVersion: number): void {
    if (events.length === 0) return;
    const all = (async () => {
      const { config } = await loadGuard(this.opts.db);
      if (!config.webhook) return;
      for (const e of events) {
        if (!['trip', 'retrip', 'step', 'unstep', 'clear', 'hold', 'cap', 'skip', 'override', 'cooling'].includes(e.kind)) continue;
        const payload: TWebhookPayload = {
          id: e.id ?? null,
          text: `:rotating_light: Coolant guard — ${e.dryRun ? '[dry run] ' : ''}${e.message}`,
          event: e.kind,
          rule: e.rule ?? null,
          step: e.step ?? null,
          tier: e.tier ?? null,
          dryRun: e.dryRun ?? false,
          signal: e.signal ?? null,
          guardConfigVersion: guardVersion,
          at: this.opts.now().toISOString(),
        };
        const p = sendWebhook(config.webhook, payload, { log: this.log, ...(this.opts.webhookBaseDelayMs !== undefined ? { baseDelayMs: this.opts.webhookBaseDelayMs } : {}) });
        this.pendingHooks.add(p);
        void p.finally(() => this.pendingHooks.delete(p));
      }
    })().catch((error: Error) => this.log(`guard webhook: ${error.message}`));
    this.pendingHooks.add(all);
    void all.finally(() => this.pendingHooks.delete(all));
  }

  /** A step the guard applied that is no longer in force was undone by an operator: disarmed until the signal clears. */
  private async checkOverrides(rule: TGuardRule, prev: TRuleRuntime, ctx: TMoveCtx, seq: number): Promise<number> {
    const { db } = this.opts;
    let changed = false;
    const events: TEventInput[] = [];
    const steps = await Promise.all(
      prev.steps.map(async (s) => {
        if (s.status !== 'applied') return s;
        const stillOurs = s.action === 'pause'
          ? pausedByGuard((await db.tier.findUnique({ where: { name: s.tier } })) ?? { pausedAt: null, pausedByKind: null })
          : s.tempLimitId
            ? Boolean(await db.temporaryLimit.findFirst({ where: { id: s.tempLimitId, clearedAt: null, until: { gt: ctx.now } } }))
            : false;
        if (stillOurs) return s;
        changed = true;
        events.push({ kind: 'override', rule: rule.id, step: s.step, tier: s.tier, action: s.action, signal: signalPayload(ctx.signals, rule, ctx.value), message: `step ${s.step + 1} (${s.action} ${s.tier}) was undone by an operator: left alone until rule ${rule.id} clears` });
        return { ...s, status: 'overridden' as const };
      }),
    );
    if (!changed) return seq;
    ctx.runtime.rules[rule.id] = { ...prev, steps };
    return this.commit(db, seq, ctx.runtime, events, ctx.row.configVersion);
  }

  private async actionsInLastHour(now: Date): Promise<number> {
    return this.opts.db.guardEvent.count({ where: { kind: { in: ['step', 'unstep'] }, dryRun: false, at: { gte: new Date(now.getTime() - 3_600_000) } } });
  }

  private async operatorChange(tier: string, now: Date, graceMinutes: number) {
    return this.opts.db.auditEvent.findFirst({
      // Anyone but the guard itself, recognised by identity (a system actor), not by the name a user could take.
      where: { target: tier, action: { startsWith: 'tier.' }, NOT: { actorType: GUARD_ACTOR.kind, actorName: GUARD_ACTOR.name }, at: { gte: new Date(now.getTime() - graceMinutes * 60_000) } },
      orderBy: { at: 'desc' },
    });
  }

  private async move(rule: TGuardRule, dir: 'up' | 'down', ctx: TMoveCtx, seq: number, events: TEventInput[]): Promise<{ seq: number; step: number | null; status: string }> {
    const { db, config } = this.opts;
    const { runtime, now, row } = ctx;
    const rt = runtime.rules[rule.id]!;
    const signal = signalPayload(ctx.signals, rule, ctx.value);
    if (!rule.dryRun && (await this.actionsInLastHour(now)) >= row.config.maxActionsPerHour) {
      // The move waits: position and lastMoveAt stay, so it is retried when the hour allows.
      if (!rt.cappedAt || now.getTime() - Date.parse(rt.cappedAt) >= 3_600_000) {
        rt.cappedAt = now.toISOString();
        events.push({ kind: 'cap', rule: rule.id, signal, message: `rule ${rule.id}: ${row.config.maxActionsPerHour} automatic actions in the last hour; holding the ladder (${dir})` });
      }
      return { seq: await this.commit(db, seq, runtime, events, row.configVersion), step: null, status: 'capped' };
    }
    rt.lastMoveAt = now.toISOString();
    if (dir === 'up') {
      const index = rt.steps.length;
      const step = rule.ladder[index]!;
      const base = { rule: rule.id, step: index, tier: step.tier, action: step.action, signal, dryRun: rule.dryRun };
      const record: TStepRecord = { step: index, tier: step.tier, action: step.action, status: 'dry', at: now.toISOString(), configVersion: row.configVersion };
      if (rule.dryRun) {
        rt.steps.push(record);
        events.push({ ...base, kind: 'step', message: `[dry run] rule ${rule.id} would take step ${index + 1}: ${describeStep(step)}` });
        return { seq: await this.commit(db, seq, runtime, events, row.configVersion), step: index, status: 'dry' };
      }
      const manual = await this.operatorChange(step.tier, now, row.config.operatorGraceMinutes);
      if (manual) {
        rt.steps.push({ ...record, status: 'skipped' });
        events.push({ ...base, kind: 'skip', message: `rule ${rule.id} step ${index + 1} (${describeStep(step)}) skipped: ${manual.actorName} changed ${step.tier} at ${manual.at.toISOString()} (${manual.action}); operators win` });
        return { seq: await this.commit(db, seq, runtime, events, row.configVersion), step: index, status: 'skipped' };
      }
      let outcome: { seq: number; status: TStepRecord['status']; tempLimitId: string | null; note: string | null } | null = null;
      await config.mutate(
        async (tx, version) => {
          const applied = await applyStep(tx, step, now, version, { rule: rule.id, step: index, signal, guardConfigVersion: row.configVersion });
          rt.steps.push({ ...record, status: applied.applied ? 'applied' : 'skipped', tempLimitId: applied.tempLimitId });
          events.push({
            ...base,
            kind: applied.applied ? 'step' : 'skip',
            message: applied.applied ? `rule ${rule.id} step ${index + 1}: ${describeStep(step)} (${rule.signal} = ${ctx.value})` : `rule ${rule.id} step ${index + 1} (${describeStep(step)}) skipped: ${applied.note}`,
          });
          outcome = { seq: await this.commit(db, seq, runtime, events, row.configVersion, tx), status: applied.applied ? 'applied' : 'skipped', tempLimitId: applied.tempLimitId, note: applied.note };
        },
        step.action === 'pause' ? { pausing: step.tier } : {},
      );
      this.notify(events, row.configVersion);
      const o = outcome as unknown as { seq: number; status: string };
      return { seq: o.seq, step: index, status: o.status };
    }
    // Down: undo the last step, and only if it is still the guard's own.
    const last = rt.steps.pop()!;
    const base = { rule: rule.id, step: last.step, tier: last.tier, action: last.action, signal, dryRun: last.status === 'dry' };
    const finish = () => {
      if (rt.phase === 'cooling' && rt.steps.length === 0) {
        rt.phase = 'armed';
        rt.trippedAt = null;
        events.push({ kind: 'clear', rule: rule.id, signal, dryRun: rule.dryRun, message: `rule ${rule.id} clear: every step undone` });
      }
    };
    if (last.status !== 'applied') {
      events.push({ ...base, kind: last.status === 'dry' ? 'step' : 'unstep_noop', message: `${last.status === 'dry' ? '[dry run] ' : ''}rule ${rule.id} ${last.status === 'dry' ? 'would undo' : 'leaves'} step ${last.step + 1} (${last.action} ${last.tier})${last.status === 'dry' ? '' : `: it was ${last.status}`}` });
      finish();
      return { seq: await this.commit(db, seq, runtime, events, row.configVersion), step: last.step, status: last.status };
    }
    let next = seq;
    await config.mutate(async (tx, version) => {
      const undone = await undoStep(tx, last, now, version, { rule: rule.id, step: last.step, signal, guardConfigVersion: row.configVersion });
      events.push({ ...base, kind: undone ? 'unstep' : 'unstep_noop', message: undone ? `rule ${rule.id} undid step ${last.step + 1}: ${last.action === 'pause' ? `resumed ${last.tier}` : `cleared the temporary limit on ${last.tier}`}` : `rule ${rule.id}: step ${last.step + 1} on ${last.tier} was no longer the guard's; left alone` });
      finish();
      next = await this.commit(db, seq, runtime, events, row.configVersion, tx);
    });
    this.notify(events, row.configVersion);
    return { seq: next, step: last.step, status: 'undone' };
  }

  // ---- drills ----

  private async processDrills(row: TGuardRow, signals: TFleetSignals): Promise<void> {
    const { db, config } = this.opts;
    const drills = await db.guardDrill.findMany({ where: { state: 'requested' }, orderBy: { requestedAt: 'asc' }, take: 5 });
    for (const drill of drills) {
      const claimed = await db.guardDrill.updateMany({ where: { id: drill.id, state: 'requested' }, data: { state: 'deciding', decidedBy: this.instanceId } });
      if (claimed.count !== 1) continue;
      try {
        const rule = row.config.rules.find((r) => r.enabled) ?? row.config.rules[0] ?? DEFAULT_GUARD_CONFIG.rules[0]!;
        // A dry-run copy of the rule with no trip window, fed a synthetic value above its trip threshold.
        const copy: TGuardRule = { ...rule, dryRun: true, tripWindowSeconds: 0 };
        const forced = rule.trip + Math.max(1, Math.abs(rule.trip) * 0.1);
        const d = decideRule(copy, emptyRuleRuntime(), forced, this.opts.now());
        if (d.move !== 'up') throw new AppError('CONFLICT', 'the synthetic signal did not trip the rule');
        const decidedAt = this.opts.now();
        const step: TGuardStep = drill.live ? { tier: drill.tier!, action: 'pause' } : rule.ladder[0]!;
        const signal = { synthetic: true, rule: rule.id, signal: rule.signal, value: forced, trip: rule.trip, fleet: signals };
        // Live: the real pause. Dry: a config version with no change, so the chain to every instance is measured without touching traffic.
        let committedAt: Date | null = null;
        const version = await config.mutate(
          async (tx, v) => {
            if (drill.live) {
              const applied = await applyStep(tx, step, this.opts.now(), v, { rule: `drill:${drill.id}`, step: 0, signal, guardConfigVersion: row.configVersion });
              if (!applied.applied) throw new AppError('CONFLICT', `drill: ${applied.note}`);
            }
            await tx.guardEvent.create({
              data: { at: this.opts.now(), kind: 'drill', rule: rule.id, step: 0, tier: step.tier, action: step.action, dryRun: !drill.live, configVersion: row.configVersion, signal: JSON.stringify(signal), message: `drill ${drill.id}: ${drill.live ? '' : '[dry run] '}${describeStep(step)} on a synthetic ${rule.signal} = ${forced}`, instanceId: this.instanceId },
            });
            return v;
          },
          { ...(drill.live ? { pausing: step.tier } : {}), onCommitted: () => (committedAt = this.opts.now()) },
        );
        await db.guardDrill.update({ where: { id: drill.id }, data: { state: 'decided', decidedAt, committedAt, configVersion: version, tier: step.tier } });
      } catch (error) {
        await db.guardDrill.update({ where: { id: drill.id }, data: { state: 'failed', error: (error as Error).message } });
      }
    }
  }
}

type TMoveCtx = { row: TGuardRow; runtime: TGuardRuntime; signals: TFleetSignals; now: Date; value: number | null };

export function signalPayload(s: TFleetSignals, rule: TGuardRule, value: number | null) {
  return { rule: rule.id, signal: rule.signal, value, trip: rule.trip, clear: rule.clear, ...(rule.signal === 'hot_share' ? { temperatureC: rule.temperatureC } : {}), data: s.data, gpus: s.gpus, nodes: s.nodes, ...(s.data ? { fleet: s.values } : { reason: s.reason }) };
}

type TGuardDetails = { rule: string; step: number; signal: unknown; guardConfigVersion: number };

/** Applies one ladder step as the guard, unless the tier's current state is someone else's. */
export async function applyStep(tx: TDbTx, step: TGuardStep, now: Date, version: number, guard: TGuardDetails): Promise<{ applied: boolean; tempLimitId: string | null; note: string | null }> {
  const tier = await tx.tier.findUnique({ where: { name: step.tier } });
  if (!tier) return { applied: false, tempLimitId: null, note: `no tier named "${step.tier}"` };
  if (tier.retiredAt) return { applied: false, tempLimitId: null, note: `tier "${step.tier}" is retired` };
  const change = { tx, version, actor: GUARD_ACTOR, now, reason: `guard: rule ${guard.rule} step ${guard.step + 1}`, context: { guard }, auditAt: now };
  if (step.action === 'pause') {
    if (isPausedAt(tier, now)) return { applied: false, tempLimitId: null, note: `${step.tier} is already paused by ${tier.pausedBy ?? 'someone'}` };
    await writePause({ ...change, tier, resumeAt: null });
    return { applied: true, tempLimitId: null, note: null };
  }
  const active = await findActiveTemporaryLimit(tx, { tierId: tier.id, window: step.window, now });
  if (active && !setByGuard(active)) return { applied: false, tempLimitId: null, note: `${step.tier} already has a temporary ${step.window} limit set by ${active.createdBy}` };
  const until = new Date(now.getTime() + step.hours * 3_600_000);
  const created = await writeTemporaryLimit({ ...change, tier, window: step.window, limit: step.limit, until, reason: change.reason });
  return { applied: true, tempLimitId: created.id, note: null };
}

/** Undoes a step the guard applied, if it is still the guard's own; false when it was not. */
export async function undoStep(tx: TDbTx, rec: Pick<TStepRecord, 'tier' | 'action' | 'tempLimitId'>, now: Date, version: number, guard: TGuardDetails): Promise<boolean> {
  const tier = await tx.tier.findUnique({ where: { name: rec.tier } });
  if (!tier) return false;
  const change = { tx, version, actor: GUARD_ACTOR, now, reason: `guard: rule ${guard.rule} undoes step ${guard.step + 1}`, context: { guard }, auditAt: now };
  if (rec.action === 'pause') return pausedByGuard(tier) && writeResume({ ...change, tier });
  if (!rec.tempLimitId) return false;
  const active = await findTemporaryLimitInForce(tx, { id: rec.tempLimitId, now });
  return active !== null && writeClearTemporaryLimit({ ...change, tier, limit: active });
}
