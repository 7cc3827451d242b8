/**
 * The shed ladder: one step up or down per move, each a tier change made through the tiers module
 * (as the guard, recognised by identity) in the same config change as the guard's state. Operators
 * win: a tier an operator changed recently is skipped, and a step an operator undid is left alone.
 */
import type { TDbTx } from '@coolant/db';
import { GUARD_ACTOR } from '../actors/actor';
import {
  findActiveTemporaryLimit,
  findTemporaryLimitInForce,
  isPausedAt,
  pausedByGuard,
  setByGuard,
  writeClearTemporaryLimit,
  writePause,
  writeResume,
  writeTemporaryLimit,
} from '../tiers/tier-state';
import type { TRuleRuntime, TStepRecord } from './decide';
import { commitGuard, commitGuardWithChange, type TDecider } from './guard-commit';
import { describeStep, type TGuardRule, type TGuardStep } from './guard-config';
import { signalPayload, type TGuardEvent } from './guard-events';
import type { TGuardRow, TGuardRuntime } from './guard-state';
import type { TFleetSignals } from './signals';

type TGuardDetails = { rule: string; step: number; signal: unknown; guardConfigVersion: number };
type TApplied = { applied: true; tempLimitId: string | null } | { applied: false; note: string };

/** Applies one ladder step as the guard, unless the tier's current state is someone else's. */
export async function applyStep(req: {
  tx: TDbTx;
  version: number;
  now: Date;
  step: TGuardStep;
  guard: TGuardDetails;
}): Promise<TApplied> {
  const { tx, step, now } = req;
  const tier = await tx.tier.findUnique({ where: { name: step.tier } });
  if (!tier) return { applied: false, note: `no tier named "${step.tier}"` };
  if (tier.retiredAt) return { applied: false, note: `tier "${step.tier}" is retired` };
  const change = {
    tx,
    version: req.version,
    actor: GUARD_ACTOR,
    now,
    reason: `guard: rule ${req.guard.rule} step ${req.guard.step + 1}`,
    context: { guard: req.guard },
    auditAt: now,
  };
  if (step.action === 'pause') {
    if (isPausedAt(tier, now))
      return { applied: false, note: `${step.tier} is already paused by ${tier.pausedBy ?? 'someone'}` };
    await writePause({ ...change, tier, resumeAt: null });
    return { applied: true, tempLimitId: null };
  }
  const active = await findActiveTemporaryLimit(tx, { tierId: tier.id, window: step.window, now });
  if (active && !setByGuard(active))
    return {
      applied: false,
      note: `${step.tier} already has a temporary ${step.window} limit set by ${active.createdBy}`,
    };
  const until = new Date(now.getTime() + step.hours * 3_600_000);
  const created = await writeTemporaryLimit({
    ...change,
    tier,
    window: step.window,
    limit: step.limit,
    until,
    reason: change.reason,
  });
  return { applied: true, tempLimitId: created.id };
}

/** Undoes a step the guard applied, if it is still the guard's own; false when it was not. */
export async function undoStep(req: {
  tx: TDbTx;
  version: number;
  now: Date;
  record: Pick<TStepRecord, 'tier' | 'action' | 'tempLimitId'>;
  guard: TGuardDetails;
}): Promise<boolean> {
  const { tx, record, now } = req;
  const tier = await tx.tier.findUnique({ where: { name: record.tier } });
  if (!tier) return false;
  const change = {
    tx,
    version: req.version,
    actor: GUARD_ACTOR,
    now,
    reason: `guard: rule ${req.guard.rule} undoes step ${req.guard.step + 1}`,
    context: { guard: req.guard },
    auditAt: now,
  };
  if (record.action === 'pause') return pausedByGuard(tier) && writeResume({ ...change, tier });
  if (!record.tempLimitId) return false;
  const active = await findTemporaryLimitInForce(tx, { id: record.tempLimitId, now });
  return active !== null && writeClearTemporaryLimit({ ...change, tier, limit: active });
}

export type TMoveCtx = {
  row: TGuardRow;
  runtime: TGuardRuntime;
  signals: TFleetSignals;
  now: Date;
  value: number | null;
  seq: number;
};
export type TMoved = { seq: number | null; step: number | null; status: string };

/** A step the guard applied that is no longer in force was undone by an operator: disarmed until the signal clears. */
export async function checkOverrides(
  d: TDecider,
  rule: TGuardRule,
  prev: TRuleRuntime,
  ctx: TMoveCtx,
): Promise<number | null> {
  const events: TGuardEvent[] = [];
  const steps = await Promise.all(
    prev.steps.map(async (s) => {
      if (s.status !== 'applied') return s;
      const stillOurs =
        s.action === 'pause'
          ? pausedByGuard(
              (await d.db.tier.findUnique({ where: { name: s.tier } })) ?? { pausedAt: null, pausedByKind: null },
            )
          : s.tempLimitId !== undefined &&
            s.tempLimitId !== null &&
            (await d.db.temporaryLimit.findFirst({
              where: { id: s.tempLimitId, clearedAt: null, until: { gt: ctx.now } },
            })) !== null;
      if (stillOurs) return s;
      events.push({
        kind: 'override',
        rule: rule.id,
        step: s.step,
        tier: s.tier,
        action: s.action,
        signal: signalPayload(ctx.signals, rule, ctx.value),
        message: `step ${s.step + 1} (${s.action} ${s.tier}) was undone by an operator: left alone until rule ${rule.id} clears`,
      });
      return { ...s, status: 'overridden' as const };
    }),
  );
  if (events.length === 0) return ctx.seq;
  ctx.runtime.rules[rule.id] = { ...prev, steps };
  return commitGuard(d, { seq: ctx.seq, runtime: ctx.runtime, events, guardVersion: ctx.row.configVersion });
}

async function actionsInLastHour(d: TDecider, now: Date): Promise<number> {
  return d.db.guardEvent.count({
    where: { kind: { in: ['step', 'unstep'] }, dryRun: false, at: { gte: new Date(now.getTime() - 3_600_000) } },
  });
}

/** The newest tier change by anyone but the guard itself (recognised by identity, not by a name a user could take). */
async function operatorChange(d: TDecider, tier: string, now: Date, graceMinutes: number) {
  return d.db.auditEvent.findFirst({
    where: {
      target: tier,
      action: { startsWith: 'tier.' },
      NOT: { actorType: GUARD_ACTOR.kind, actorName: GUARD_ACTOR.name },
      at: { gte: new Date(now.getTime() - graceMinutes * 60_000) },
    },
    orderBy: { at: 'desc' },
  });
}

export async function moveLadder(
  d: TDecider,
  rule: TGuardRule,
  dir: 'up' | 'down',
  ctx: TMoveCtx,
  events: TGuardEvent[],
): Promise<TMoved> {
  const { runtime, now, row, seq } = ctx;
  const rt = runtime.rules[rule.id]!;
  const guardVersion = row.configVersion;
  const signal = signalPayload(ctx.signals, rule, ctx.value);
  const commit = () => commitGuard(d, { seq, runtime, events, guardVersion });
  if (!rule.dryRun && (await actionsInLastHour(d, now)) >= row.config.maxActionsPerHour) {
    // The move waits: position and lastMoveAt stay, so it is retried when the hour allows.
    if (!rt.cappedAt || now.getTime() - Date.parse(rt.cappedAt) >= 3_600_000) {
      rt.cappedAt = now.toISOString();
      events.push({
        kind: 'cap',
        rule: rule.id,
        signal,
        message: `rule ${rule.id}: ${row.config.maxActionsPerHour} automatic actions in the last hour; holding the ladder (${dir})`,
      });
    }
    return { seq: await commit(), step: null, status: 'capped' };
  }
  rt.lastMoveAt = now.toISOString();
  return dir === 'up' ? climb(d, rule, ctx, events, signal) : descend(d, rule, ctx, events, signal);
}

async function climb(
  d: TDecider,
  rule: TGuardRule,
  ctx: TMoveCtx,
  events: TGuardEvent[],
  signal: unknown,
): Promise<TMoved> {
  const { runtime, now, row, seq } = ctx;
  const rt = runtime.rules[rule.id]!;
  const guardVersion = row.configVersion;
  const index = rt.steps.length;
  const step = rule.ladder[index]!;
  const base = { rule: rule.id, step: index, tier: step.tier, action: step.action, signal, dryRun: rule.dryRun };
  const record: TStepRecord = {
    step: index,
    tier: step.tier,
    action: step.action,
    status: 'dry',
    at: now.toISOString(),
    configVersion: guardVersion,
  };
  if (rule.dryRun) {
    rt.steps.push(record);
    events.push({
      ...base,
      kind: 'step',
      message: `[dry run] rule ${rule.id} would take step ${index + 1}: ${describeStep(step)}`,
    });
    return { seq: await commitGuard(d, { seq, runtime, events, guardVersion }), step: index, status: 'dry' };
  }
  const manual = await operatorChange(d, step.tier, now, row.config.operatorGraceMinutes);
  if (manual) {
    rt.steps.push({ ...record, status: 'skipped' });
    events.push({
      ...base,
      kind: 'skip',
      message: `rule ${rule.id} step ${index + 1} (${describeStep(step)}) skipped: ${manual.actorName} changed ${step.tier} at ${manual.at.toISOString()} (${manual.action}); operators win`,
    });
    return { seq: await commitGuard(d, { seq, runtime, events, guardVersion }), step: index, status: 'skipped' };
  }
  let status: TStepRecord['status'] = 'skipped';
  const next = await commitGuardWithChange(
    d,
    { seq, runtime, events, guardVersion },
    async (tx, version) => {
      const applied = await applyStep({
        tx,
        version,
        now,
        step,
        guard: { rule: rule.id, step: index, signal, guardConfigVersion: guardVersion },
      });
      status = applied.applied ? 'applied' : 'skipped';
      rt.steps.push({ ...record, status, tempLimitId: applied.applied ? applied.tempLimitId : null });
      events.push({
        ...base,
        kind: applied.applied ? 'step' : 'skip',
        message: applied.applied
          ? `rule ${rule.id} step ${index + 1}: ${describeStep(step)} (${rule.signal} = ${ctx.value})`
          : `rule ${rule.id} step ${index + 1} (${describeStep(step)}) skipped: ${applied.note}`,
      });
    },
    step.action === 'pause' ? { pausing: step.tier } : {},
  );
  return { seq: next, step: index, status };
}

/** Undoes the last step, and only if it is still the guard's own. */
async function descend(
  d: TDecider,
  rule: TGuardRule,
  ctx: TMoveCtx,
  events: TGuardEvent[],
  signal: unknown,
): Promise<TMoved> {
  const { runtime, now, row, seq } = ctx;
  const rt = runtime.rules[rule.id]!;
  const guardVersion = row.configVersion;
  const last = rt.steps.pop()!;
  const base = {
    rule: rule.id,
    step: last.step,
    tier: last.tier,
    action: last.action,
    signal,
    dryRun: last.status === 'dry',
  };
  const finish = () => {
    if (rt.phase === 'cooling' && rt.steps.length === 0) {
      rt.phase = 'armed';
      rt.trippedAt = null;
      events.push({
        kind: 'clear',
        rule: rule.id,
        signal,
        dryRun: rule.dryRun,
        message: `rule ${rule.id} clear: every step undone`,
      });
    }
  };
  if (last.status !== 'applied') {
    const dry = last.status === 'dry';
    events.push({
      ...base,
      kind: dry ? 'step' : 'unstep_noop',
      message: `${dry ? '[dry run] ' : ''}rule ${rule.id} ${dry ? 'would undo' : 'leaves'} step ${last.step + 1} (${last.action} ${last.tier})${dry ? '' : `: it was ${last.status}`}`,
    });
    finish();
    return { seq: await commitGuard(d, { seq, runtime, events, guardVersion }), step: last.step, status: last.status };
  }
  const next = await commitGuardWithChange(d, { seq, runtime, events, guardVersion }, async (tx, version) => {
    const undone = await undoStep({
      tx,
      version,
      now,
      record: last,
      guard: { rule: rule.id, step: last.step, signal, guardConfigVersion: guardVersion },
    });
    events.push({
      ...base,
      kind: undone ? 'unstep' : 'unstep_noop',
      message: undone
        ? `rule ${rule.id} undid step ${last.step + 1}: ${last.action === 'pause' ? `resumed ${last.tier}` : `cleared the temporary limit on ${last.tier}`}`
        : `rule ${rule.id}: step ${last.step + 1} on ${last.tier} was no longer the guard's; left alone`,
    });
    finish();
  });
  return { seq: next, step: last.step, status: 'undone' };
}
