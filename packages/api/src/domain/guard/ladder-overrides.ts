/**
 * Operators win over the guard: a step it applied that is no longer in force (an operator resumed
 * the tier, cleared the limit or moved the reservation) is marked overridden and left alone until its rule clears, instead
 * of being applied again at the next move.
 */
import type { Prisma } from '@coolant/db';
import { pausedByGuard } from '../tiers/tier-state';
import type { TRuleRuntime, TStepRecord } from './decide';
import { commitGuard, type TDecider } from './guard-commit';
import type { TGuardRule } from './guard-config';
import { signalPayload, type TGuardEvent } from './guard-events';
import type { TMoveCtx } from './ladder';
import { reservationStillOurs } from './ladder-reserve';

/** Whose pause a tier holds, and no more. */
const pauseOwnerSelect = { pausedAt: true, pausedByKind: true } satisfies Prisma.TierSelect;

/** A reserve step is the guard's while the tier still reserves what it set (capacity.configure may have moved it). */
async function reserveStillOurs(d: TDecider, s: TStepRecord): Promise<boolean> {
  const tier = await d.db.tier.findUnique({ where: { name: s.tier }, select: { id: true } });
  return !!tier && !!s.reservation && reservationStillOurs({ db: d.db, tierId: tier.id, reservation: s.reservation });
}

/** A step the guard applied that is no longer in force was undone by an operator: disarmed until the signal clears. */
export async function checkOverrides(req: {
  decider: TDecider;
  rule: TGuardRule;
  prev: TRuleRuntime;
  move: TMoveCtx;
}): Promise<number | null> {
  const { decider: d, rule, prev, move: ctx } = req;
  const events: TGuardEvent[] = [];
  const steps = await Promise.all(
    prev.steps.map(async (s) => {
      if (s.status !== 'applied') return s;
      const stillOurs =
        s.action === 'reserve'
          ? await reserveStillOurs(d, s)
          : s.action === 'pause'
            ? pausedByGuard(
                (await d.db.tier.findUnique({ where: { name: s.tier }, select: pauseOwnerSelect })) ?? {
                  pausedAt: null,
                  pausedByKind: null,
                },
              )
            : s.tempLimitId !== undefined &&
              s.tempLimitId !== null &&
              (await d.db.temporaryLimit.findFirst({
                where: { id: s.tempLimitId, clearedAt: null, until: { gt: ctx.now } },
                select: { id: true },
              })) !== null;
      if (stillOurs) return s;
      events.push({
        kind: 'override',
        rule: rule.id,
        step: s.step,
        tier: s.tier,
        action: s.action,
        signal: signalPayload({ signals: ctx.signals, rule, value: ctx.value }),
        message: `step ${s.step + 1} (${s.action} ${s.tier}) was undone by an operator: left alone until rule ${rule.id} clears`,
      });
      return { ...s, status: 'overridden' as const };
    }),
  );
  if (events.length === 0) return ctx.seq;
  ctx.runtime.rules[rule.id] = { ...prev, steps };
  return commitGuard({ decider: d, seq: ctx.seq, runtime: ctx.runtime, events, guardVersion: ctx.row.configVersion });
}
