/**
 * Which console instance delivers notifications: the holder of the NotificationLease row, renewed
 * every tick and lasting a few of them (the guard's lease pattern, guard/guard-lease.ts, on its
 * own row so the two jobs may land on different instances). Two consoles on one PostgreSQL
 * therefore never both post an event; a holder that dies is replaced once its lease expires.
 */
import type { TDb } from '@coolant/db';

export async function acquireNotificationLease(req: {
  db: TDb;
  instanceId: string;
  now: Date;
  ttlMs: number;
  log: (m: string) => void;
}): Promise<boolean> {
  const { db, instanceId, now } = req;
  const expiresAt = new Date(now.getTime() + req.ttlMs);
  const renewed = await db.notificationLease.updateMany({ where: { id: 1, holder: instanceId }, data: { expiresAt } });
  if (renewed.count === 1) return true;
  const taken = await db.notificationLease.updateMany({
    where: { id: 1, expiresAt: { lt: now } },
    data: { holder: instanceId, acquiredAt: now, expiresAt },
  });
  if (taken.count === 1) {
    req.log(`notifications: this instance (${instanceId}) now delivers`);
    return true;
  }
  // No row yet: the first to create it delivers; a unique violation means another instance did.
  return db.notificationLease.create({ data: { id: 1, holder: instanceId, acquiredAt: now, expiresAt } }).then(
    () => true,
    () => false,
  );
}

/** Hands the lease back on shutdown, so another instance takes over at once rather than after the expiry. */
export async function releaseNotificationLease(req: { db: TDb; instanceId: string }): Promise<void> {
  await req.db.notificationLease.deleteMany({ where: { id: 1, holder: req.instanceId } }).catch(() => {});
}

export async function notificationLeaseHolder(req: { db: TDb; now: Date }): Promise<string | null> {
  const row = await req.db.notificationLease.findUnique({ where: { id: 1 } });
  return row && row.expiresAt.getTime() >= req.now.getTime() ? row.holder : null;
}
