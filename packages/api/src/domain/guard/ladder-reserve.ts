/**
 * The guard's reserve step: sets a tier's capacity reservation through the one CapacityShare
 * writer (capacity/write-share.ts), remembering what it was so that undo restores it exactly, and
 * undoing only while the value is still the one the guard set (an operator who moved it since wins).
 */
import type { TDb, TDbTx } from '@coolant/db';
import { GUARD_ACTOR } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import { readTierShare, removeTierShare, writeTierReservation } from '../capacity/write-share';
import { formatShare } from './guard-config';

/** What a reserve step changed: the reservation before (null: the tier had no share row) and the one set. */
export type TReservation = { before: number | null; set: number };

type TReserveChange = {
  tx: TDbTx;
  version: number;
  now: Date;
  reason: string;
  context: Record<string, unknown>;
  tier: { id: string; name: string };
};

async function audit(c: TReserveChange, before: number, after: number): Promise<void> {
  await recordAudit({
    db: c.tx,
    actor: GUARD_ACTOR,
    action: 'capacity.reserve',
    target: c.tier.name,
    reason: c.reason,
    details: { before: { reserved: before }, after: { reserved: after }, configVersion: c.version, ...c.context },
    at: c.now,
  });
}

export async function applyReserve(
  c: TReserveChange & { reserved: number },
): Promise<{ applied: true; reservation: TReservation } | { applied: false; note: string }> {
  const { tx, tier, reserved } = c;
  const current = await readTierShare({ db: tx, tierId: tier.id });
  if ((current?.reserved ?? 0) === reserved)
    return { applied: false, note: `${tier.name} already reserves ${formatShare(reserved)}` };
  const others = await tx.capacityShare.aggregate({
    where: { tierId: { not: tier.id }, tier: { retiredAt: null } },
    _sum: { reserved: true },
  });
  const total = (others._sum.reserved ?? 0) + reserved;
  if (total > 1 + 1e-9)
    return {
      applied: false,
      note: `reserving ${formatShare(reserved)} for ${tier.name} would take the reservations to ${formatShare(total)}`,
    };
  const before = await writeTierReservation({ tx, tierId: tier.id, reserved, actor: GUARD_ACTOR });
  await audit(c, before?.reserved ?? 0, reserved);
  return { applied: true, reservation: { before: before?.reserved ?? null, set: reserved } };
}

/** Still the guard's: the tier reserves exactly what the step set (a tier without a row reserves 0). */
export async function reservationStillOurs(req: {
  db: TDb | TDbTx;
  tierId: string;
  reservation: TReservation;
}): Promise<boolean> {
  const current = await readTierShare({ db: req.db, tierId: req.tierId });
  return (current?.reserved ?? 0) === req.reservation.set;
}

/** Puts back the reservation the step found (no row again if there was none), if it is still the guard's. */
export async function undoReserve(c: TReserveChange & { reservation: TReservation }): Promise<boolean> {
  const { tx, tier, reservation } = c;
  const current = await readTierShare({ db: tx, tierId: tier.id });
  if ((current?.reserved ?? 0) !== reservation.set) return false;
  // A row the guard created is removed (back to "no share"), unless an operator has since given it a priority.
  if (reservation.before === null && (current?.priority ?? 0) === 0) await removeTierShare({ tx, tierId: tier.id });
  else await writeTierReservation({ tx, tierId: tier.id, reserved: reservation.before ?? 0, actor: GUARD_ACTOR });
  await audit(c, reservation.set, reservation.before ?? 0);
  return true;
}
