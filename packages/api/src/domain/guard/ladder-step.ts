/**
 * One ladder step as a tier change, made through the tiers module as the guard (recognised by
 * identity) inside the config change that also writes the guard's state: applying it unless the
 * tier's current state is someone else's, and undoing it only while it is still the guard's own.
 */
import type { Prisma, TDbTx } from '@coolant/db';
import { GUARD_ACTOR } from '../actors/actor';
import {
  findActiveTemporaryLimit,
  findTemporaryLimitInForce,
  isPausedAt,
  pausedByGuard,
  pauseFieldsSelect,
  setByGuard,
  writeClearTemporaryLimit,
  writePause,
  writeResume,
  writeTemporaryLimit,
} from '../tiers/tier-state';
import type { TStepRecord } from './decide';
import type { TGuardStep } from './guard-config';
import { applyReserve, undoReserve, type TReservation } from './ladder-reserve';

/** What applying a step reads of its tier: its pause, who holds it, and whether it is retired. */
const stepTierSelect = { ...pauseFieldsSelect, pausedBy: true, retiredAt: true } satisfies Prisma.TierSelect;

export type TGuardDetails = { rule: string; step: number; signal: unknown; guardConfigVersion: number };
export type TApplied =
  { applied: true; tempLimitId: string | null; reservation: TReservation | null } | { applied: false; note: string };

/** Applies one ladder step as the guard, unless the tier's current state is someone else's. */
export async function applyStep(req: {
  tx: TDbTx;
  version: number;
  now: Date;
  step: TGuardStep;
  guard: TGuardDetails;
}): Promise<TApplied> {
  const { tx, step, now } = req;
  const tier = await tx.tier.findUnique({ where: { name: step.tier }, select: stepTierSelect });
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
    if (isPausedAt({ tier, now }))
      return { applied: false, note: `${step.tier} is already paused by ${tier.pausedBy ?? 'someone'}` };
    await writePause({ ...change, tier, resumeAt: null });
    return { applied: true, tempLimitId: null, reservation: null };
  }
  if (step.action === 'reserve') {
    const r = await applyReserve({ ...change, tier, reserved: step.reserved });
    return r.applied ? { applied: true, tempLimitId: null, reservation: r.reservation } : r;
  }
  // The guard's limits are per subject, as they were before limits had a scope.
  const active = await findActiveTemporaryLimit({ tx, tierId: tier.id, window: step.window, scope: 'subject', now });
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
    scope: 'subject',
    limit: step.limit,
    until,
    reason: change.reason,
  });
  return { applied: true, tempLimitId: created.id, reservation: null };
}

/** Undoes a step the guard applied, if it is still the guard's own; false when it was not. */
export async function undoStep(req: {
  tx: TDbTx;
  version: number;
  now: Date;
  record: Pick<TStepRecord, 'tier' | 'action' | 'tempLimitId' | 'reservation'>;
  guard: TGuardDetails;
  /** Told what an undo did other than restore exactly (a reservation put back only in part). */
  onNote?: (note: string) => void;
}): Promise<boolean> {
  const { tx, record, now } = req;
  const tier = await tx.tier.findUnique({ where: { name: record.tier }, select: pauseFieldsSelect });
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
  if (record.action === 'reserve')
    return record.reservation
      ? undoReserve({ ...change, tier, reservation: record.reservation, onNote: req.onNote })
      : false;
  if (!record.tempLimitId) return false;
  const active = await findTemporaryLimitInForce({ tx, id: record.tempLimitId, now });
  return active !== null && writeClearTemporaryLimit({ ...change, tier, limit: active });
}
