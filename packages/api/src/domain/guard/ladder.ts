/**
 * The shed ladder's moves: one step up or down per move, within the hourly cap of automatic
 * actions. A tier an operator changed recently is skipped (operators win); the tier change
 * itself is ladder-step.ts, in the same config change as the guard's state.
 */
import { GUARD_ACTOR } from '../actors/actor';
import type { TStepRecord } from './decide';
import { commitGuard, commitGuardWithChange, type TDecider } from './guard-commit';
import { describeStep, formatShare, type TGuardRule } from './guard-config';
import { signalPayload, type TGuardEvent } from './guard-events';
import type { TGuardRow, TGuardRuntime } from './guard-state';
import { applyStep, undoStep } from './ladder-step';
import type { TFleetSignals } from './signals';

export type TMoveCtx = {
  row: TGuardRow;
  runtime: TGuardRuntime;
  signals: TFleetSignals;
  now: Date;
  value: number | null;
  seq: number;
};
export type TMoved = { seq: number | null; step: number | null; status: string };

async function actionsInLastHour(d: TDecider, now: Date): Promise<number> {
  return d.db.guardEvent.count({
    where: { kind: { in: ['step', 'unstep'] }, dryRun: false, at: { gte: new Date(now.getTime() - 3_600_000) } },
  });
}

/**
 * The newest tier change by anyone but the guard itself (recognised by identity, not by a name a
 * user could take); for a reserve step also the newest capacity.configure, which sets every share.
 */
async function operatorChange(d: TDecider, step: TGuardRule['ladder'][number], now: Date, graceMinutes: number) {
  const tierChange = { target: step.tier, action: { startsWith: 'tier.' } };
  return d.db.auditEvent.findFirst({
    where: {
      OR: step.action === 'reserve' ? [tierChange, { action: 'capacity.configure' }] : [tierChange],
      NOT: { actorType: GUARD_ACTOR.kind, actorName: GUARD_ACTOR.name },
      at: { gte: new Date(now.getTime() - graceMinutes * 60_000) },
    },
    orderBy: { at: 'desc' },
  });
}

/** One step up or down; held (not lost) while the hourly cap of automatic actions is reached. */
export async function moveLadder(req: {
  decider: TDecider;
  rule: TGuardRule;
  dir: 'up' | 'down';
  move: TMoveCtx;
  events: TGuardEvent[];
}): Promise<TMoved> {
  const { decider: d, rule, dir, move: ctx, events } = req;
  const { runtime, now, row, seq } = ctx;
  const rt = runtime.rules[rule.id]!;
  const guardVersion = row.configVersion;
  const signal = signalPayload({ signals: ctx.signals, rule, value: ctx.value });
  const commit = () => commitGuard({ decider: d, seq, runtime, events, guardVersion });
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
    return { seq: await commitGuard({ decider: d, seq, runtime, events, guardVersion }), step: index, status: 'dry' };
  }
  const manual = await operatorChange(d, step, now, row.config.operatorGraceMinutes);
  if (manual) {
    rt.steps.push({ ...record, status: 'skipped' });
    events.push({
      ...base,
      kind: 'skip',
      message: `rule ${rule.id} step ${index + 1} (${describeStep(step)}) skipped: ${manual.actorName} changed ${step.tier} at ${manual.at.toISOString()} (${manual.action}); operators win`,
    });
    return {
      seq: await commitGuard({ decider: d, seq, runtime, events, guardVersion }),
      step: index,
      status: 'skipped',
    };
  }
  let status: TStepRecord['status'] = 'skipped';
  const next = await commitGuardWithChange({
    decider: d,
    seq,
    runtime,
    events,
    guardVersion,
    ...(step.action === 'pause' ? { pausing: step.tier } : {}),
    change: async (tx, version) => {
      const applied = await applyStep({
        tx,
        version,
        now,
        step,
        guard: { rule: rule.id, step: index, signal, guardConfigVersion: guardVersion },
      });
      status = applied.applied ? 'applied' : 'skipped';
      rt.steps.push({
        ...record,
        status,
        tempLimitId: applied.applied ? applied.tempLimitId : null,
        ...(applied.applied && applied.reservation ? { reservation: applied.reservation } : {}),
      });
      events.push({
        ...base,
        kind: applied.applied ? 'step' : 'skip',
        message: applied.applied
          ? `rule ${rule.id} step ${index + 1}: ${describeStep(step)} (${rule.signal} = ${ctx.value})`
          : `rule ${rule.id} step ${index + 1} (${describeStep(step)}) skipped: ${applied.note}`,
      });
    },
  });
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
    return {
      seq: await commitGuard({ decider: d, seq, runtime, events, guardVersion }),
      step: last.step,
      status: last.status,
    };
  }
  const next = await commitGuardWithChange({
    decider: d,
    seq,
    runtime,
    events,
    guardVersion,
    change: async (tx, version) => {
      let note: string | null = null;
      const undone = await undoStep({
        tx,
        version,
        now,
        record: last,
        guard: { rule: rule.id, step: last.step, signal, guardConfigVersion: guardVersion },
        onNote: (n) => (note = n),
      });
      events.push({
        ...base,
        kind: undone ? 'unstep' : 'unstep_noop',
        message: undone
          ? `rule ${rule.id} undid step ${last.step + 1}: ${note ?? undoneText(last)}`
          : `rule ${rule.id}: step ${last.step + 1} on ${last.tier} was no longer the guard's; left alone`,
      });
      finish();
    },
  });
  return { seq: next, step: last.step, status: 'undone' };
}

function undoneText(s: TStepRecord): string {
  if (s.action === 'pause') return `resumed ${s.tier}`;
  if (s.action === 'reserve') return `put ${s.tier}'s reservation back to ${formatShare(s.reservation?.before ?? 0)}`;
  return `cleared the temporary limit on ${s.tier}`;
}
