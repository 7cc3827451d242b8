/**
 * The guard's reserve step: sets a tier's capacity reservation through the one CapacityShare
 * writer (capacity/write-share.ts), remembering what it was so that undo restores it exactly, and
 * undoing only while the value is still the one the guard set and the guard wrote it last (an operator
 * who moved it, or restated it, since wins). Undo never takes the reservations past 100 %: when the
 * other tiers have taken the room meanwhile, it restores what fits and says so.
 */
import type { TDb, TDbTx } from '@coolant/db';
import { actorName, GUARD_ACTOR } from '../actors/actor';
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

async function audit(c: TReserveChange, before: number, after: number, extra: object = {}): Promise<void> {
  await recordAudit({
    db: c.tx,
    actor: GUARD_ACTOR,
    action: 'capacity.reserve',
    target: c.tier.name,
    reason: c.reason,
    details: {
      before: { reserved: before },
      after: { reserved: after },
      configVersion: c.version,
      ...c.context,
      ...extra,
    },
    at: c.now,
  });
}

/** What the tiers other than this one reserve together (retired tiers count for nothing). */
async function othersReserved(tx: TDbTx, tierId: string): Promise<number> {
  const others = await tx.capacityShare.aggregate({
    where: { tierId: { not: tierId }, tier: { retiredAt: null } },
    _sum: { reserved: true },
  });
  return others._sum.reserved ?? 0;
}

const GUARD_NAME = actorName(GUARD_ACTOR);

/** The guard's own: the value it set, and nobody has written the row since (not even the same value). */
function ours(current: { reserved: number; updatedBy: string | null } | null, reservation: TReservation): boolean {
  // No row: an operator's capacity.configure took it away (the step always leaves one).
  return current !== null && current.reserved === reservation.set && current.updatedBy === GUARD_NAME;
}

export async function applyReserve(
  c: TReserveChange & { reserved: number },
): Promise<{ applied: true; reservation: TReservation } | { applied: false; note: string }> {
  const { tx, tier, reserved } = c;
  const current = await readTierShare({ db: tx, tierId: tier.id });
  if ((current?.reserved ?? 0) === reserved)
    return { applied: false, note: `${tier.name} already reserves ${formatShare(reserved)}` };
  const total = (await othersReserved(tx, tier.id)) + reserved;
  if (total > 1 + 1e-9)
    return {
      applied: false,
      note: `reserving ${formatShare(reserved)} for ${tier.name} would take the reservations to ${formatShare(total)}`,
    };
  const before = await writeTierReservation({ tx, tierId: tier.id, reserved, actor: GUARD_ACTOR });
  await audit(c, before?.reserved ?? 0, reserved);
  return { applied: true, reservation: { before: before?.reserved ?? null, set: reserved } };
}

/** Still the guard's: the tier's row holds exactly what the step set, last written by the guard. */
export async function reservationStillOurs(req: {
  db: TDb | TDbTx;
  tierId: string;
  reservation: TReservation;
}): Promise<boolean> {
  const current = await readTierShare({ db: req.db, tierId: req.tierId });
  return ours(current, req.reservation);
}

/**
 * Puts back the reservation the step found (no row again if there was none), if it is still the
 * guard's; when the other tiers now reserve so much that it would pass 100 %, puts back what fits
 * (1 − the others) and tells `onNote` why.
 */
export async function undoReserve(
  c: TReserveChange & { reservation: TReservation; onNote?: ((note: string) => void) | undefined },
): Promise<boolean> {
  const { tx, tier, reservation } = c;
  const current = await readTierShare({ db: tx, tierId: tier.id });
  if (!ours(current, reservation)) return false;
  const wanted = reservation.before ?? 0;
  const others = await othersReserved(tx, tier.id);
  const room = Math.max(0, Math.round((1 - others) * 1e9) / 1e9);
  if (wanted > room + 1e-9) {
    const restored = Math.max(reservation.set, room);
    const note = `putting back ${formatShare(wanted)} for ${tier.name} would take the reservations to ${formatShare(others + wanted)}; put back ${formatShare(restored)} (what the other tiers leave)`;
    if (restored !== reservation.set)
      await writeTierReservation({ tx, tierId: tier.id, reserved: restored, actor: GUARD_ACTOR });
    await audit(c, reservation.set, restored, { wanted: { reserved: wanted }, note });
    c.onNote?.(note);
    return true;
  }
  // A row the guard created is removed (back to "no share"), unless an operator has since given it a priority.
  if (reservation.before === null && (current?.priority ?? 0) === 0) await removeTierShare({ tx, tierId: tier.id });
  else await writeTierReservation({ tx, tierId: tier.id, reserved: wanted, actor: GUARD_ACTOR });
  await audit(c, reservation.set, wanted);
  return true;
}
