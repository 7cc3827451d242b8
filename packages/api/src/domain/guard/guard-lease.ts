/** Which console instance decides: the holder of the GuardLease row, renewed every evaluation, lasting three intervals. */
import type { TDb } from '@coolant/db';

/** True if this instance holds (or just took) the lease. */
export async function acquireGuardLease(req: {
  db: TDb;
  instanceId: string;
  now: Date;
  intervalSeconds: number;
  log: (m: string) => void;
}): Promise<boolean> {
  const { db, instanceId, now } = req;
  const expiresAt = new Date(now.getTime() + Math.max(3_000, 3 * req.intervalSeconds * 1000));
  const renewed = await db.guardLease.updateMany({ where: { id: 1, holder: instanceId }, data: { expiresAt } });
  if (renewed.count === 1) return true;
  const taken = await db.guardLease.updateMany({
    where: { id: 1, expiresAt: { lt: now } },
    data: { holder: instanceId, acquiredAt: now, expiresAt },
  });
  if (taken.count === 1) {
    req.log(`guard: this instance (${instanceId}) now decides`);
    return true;
  }
  // No row yet: the first to create it decides; a unique violation means another instance did.
  return db.guardLease.create({ data: { id: 1, holder: instanceId, acquiredAt: now, expiresAt } }).then(
    () => true,
    () => false,
  );
}

/** Hands the lease back on shutdown, so another instance takes over at once rather than after the expiry. */
export async function releaseGuardLease(req: { db: TDb; instanceId: string }): Promise<void> {
  await req.db.guardLease.deleteMany({ where: { id: 1, holder: req.instanceId } }).catch(() => {});
}
