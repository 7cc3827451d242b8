/**
 * The one writer of CapacityShare rows (test/tier-writes-single-module.test.ts fails on any other):
 * capacity.configure (an operator's whole set of shares, or some tiers of it) and the guard's reserve step (one tier's
 * reservation, later restored exactly) both write through here, so a share has one shape of write
 * and one place that says who made it. Callers audit; these run inside the caller's config change.
 */
import type { TDb, TDbTx } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { actorName, type TChangeActor } from '../actors/actor';

export type TShareValue = { priority: number; reserved: number };

/** The tier's row as stored (with who wrote it last), or null when it has none (priority 0, nothing reserved). */
export function readTierShare(req: {
  db: TDb | TDbTx;
  tierId: string;
}): Promise<(TShareValue & { updatedBy: string | null }) | null> {
  return req.db.capacityShare.findUnique({
    where: { tierId: req.tierId },
    select: { priority: true, reserved: true, updatedBy: true },
  });
}

/**
 * Sets one tier's reservation (and its priority when given; a new row otherwise starts at 0).
 * Returns what the row was before, null when there was none.
 */
export async function writeTierReservation(req: {
  tx: TDbTx;
  tierId: string;
  reserved: number;
  priority?: number | undefined;
  actor: TChangeActor;
}): Promise<(TShareValue & { updatedBy: string | null }) | null> {
  const { tx, tierId, reserved, priority } = req;
  if (!(reserved >= 0 && reserved <= 1))
    throw new AppError('BAD_REQUEST', `reserved: must be within 0..1, not ${reserved}`);
  const before = await readTierShare({ db: tx, tierId });
  const updatedBy = actorName(req.actor);
  await tx.capacityShare.upsert({
    where: { tierId },
    create: { tierId, reserved, priority: priority ?? 0, updatedBy },
    update: { reserved, ...(priority !== undefined ? { priority } : {}), updatedBy },
  });
  return before;
}

/** Takes the tier's row away: back to "no row" (priority 0, nothing reserved), as it was before a first write. */
export async function removeTierShare(req: { tx: TDbTx; tierId: string }): Promise<void> {
  await req.tx.capacityShare.deleteMany({ where: { tierId: req.tierId } });
}

/** An operator's whole set: the tiers listed get theirs, every other tier's row goes (priority 0, nothing reserved). */
export async function replaceCapacityShares(req: {
  tx: TDbTx;
  shares: ({ tierId: string } & TShareValue)[];
  actor: TChangeActor;
}): Promise<void> {
  const { tx } = req;
  await tx.capacityShare.deleteMany({ where: { tierId: { notIn: req.shares.map((s) => s.tierId) } } });
  for (const s of req.shares)
    await writeTierReservation({ tx, tierId: s.tierId, reserved: s.reserved, priority: s.priority, actor: req.actor });
}

/** An operator's change to some tiers (sharesMode 'merge'): the tiers listed get theirs, every other row stays. */
export async function mergeCapacityShares(req: {
  tx: TDbTx;
  shares: ({ tierId: string } & TShareValue)[];
  actor: TChangeActor;
}): Promise<void> {
  for (const s of req.shares)
    await writeTierReservation({
      tx: req.tx,
      tierId: s.tierId,
      reserved: s.reserved,
      priority: s.priority,
      actor: req.actor,
    });
}
