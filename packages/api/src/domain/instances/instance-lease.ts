/**
 * "Which console instance does this job": the guard's decisions and the notifications' delivery
 * each run on one instance at a time, the holder of their own one-row lease table (GuardLease,
 * NotificationLease: two rows, so the two jobs may land on different instances). The holder renews
 * it while it works; a holder that dies is replaced once its lease has expired; a holder that stops
 * hands it back so another takes over at once. One implementation for both tables.
 */
import type { TDb } from '@coolant/db';

type TLeaseRow = { id: number; holder: string; acquiredAt: Date; expiresAt: Date };

/** What a lease table offers (the Prisma delegates db.guardLease and db.notificationLease fit it). */
export type TLeaseTable = {
  updateMany(args: {
    where: { id: number; holder?: string; expiresAt?: { lt: Date } };
    data: { holder?: string; acquiredAt?: Date; expiresAt: Date };
  }): Promise<{ count: number }>;
  create(args: { data: TLeaseRow }): Promise<unknown>;
  deleteMany(args: { where: { id: number; holder: string } }): Promise<unknown>;
};

export type TLeaseName = 'guard' | 'notifications';

function table(db: TDb, name: TLeaseName): TLeaseTable {
  return name === 'guard' ? db.guardLease : db.notificationLease;
}

/** True if this instance holds (or just took) the lease, now valid until now + ttlMs. */
export async function acquireInstanceLease(req: {
  db: TDb;
  name: TLeaseName;
  instanceId: string;
  now: Date;
  ttlMs: number;
  /** Told when this instance takes the lease over. */
  onTaken: () => void;
}): Promise<boolean> {
  const rows = table(req.db, req.name);
  const { instanceId, now } = req;
  const expiresAt = new Date(now.getTime() + req.ttlMs);
  const renewed = await rows.updateMany({ where: { id: 1, holder: instanceId }, data: { expiresAt } });
  if (renewed.count === 1) return true;
  const taken = await rows.updateMany({
    where: { id: 1, expiresAt: { lt: now } },
    data: { holder: instanceId, acquiredAt: now, expiresAt },
  });
  if (taken.count === 1) {
    req.onTaken();
    return true;
  }
  // No row yet: the first to create it holds it; a unique violation means another instance did.
  return rows.create({ data: { id: 1, holder: instanceId, acquiredAt: now, expiresAt } }).then(
    () => true,
    () => false,
  );
}

/** Hands the lease back on shutdown, so another instance takes over at once rather than after the expiry. */
export async function releaseInstanceLease(req: { db: TDb; name: TLeaseName; instanceId: string }): Promise<void> {
  await table(req.db, req.name)
    .deleteMany({ where: { id: 1, holder: req.instanceId } })
    .catch(() => {});
}
