/**
 * What the capacity rule reads from the lease table: leases in flight per tier, the durations of
 * recent leases (for retryAfterSeconds) and the monotonic lease totals (/metrics). Read-only: the
 * admission path (domain/admission, next round) is the only writer of GenerationLease.
 *
 * Plan for that writer, so the counts here stay exact:
 * - Live = releasedAt IS NULL AND expiresAt > now. In-flight is a count of live rows, never a
 *   stored counter, so an expiry frees its slot at expiresAt by itself, and a crashed gateway
 *   pins a slot for at most its TTL. `now` is the database's clock on PostgreSQL (now(), in the
 *   same transaction) and the owning process's on SQLite (one process owns the file).
 * - Acquire, PostgreSQL (several instances): in one transaction, `SELECT ... FROM
 *   "CapacitySnapshot" WHERE id = 1 FOR UPDATE` (serialises every acquire that applies the
 *   capacity rule, and gives the C that all instances therefore apply), then lock the tier's row
 *   (`SELECT ... FROM "Tier" WHERE id = $1 FOR UPDATE`) when only per-tier or per-subject
 *   concurrency applies, count live leases (per tier, and the subject's), run decideCapacity and
 *   the concurrency limits, consume the quota, INSERT the lease, commit. Two instances cannot both
 *   see N-1: the second waits on the lock and counts after the first commits (READ COMMITTED reads
 *   a fresh snapshot per statement). Keep the lock for as few round trips as possible (one CTE
 *   statement if throughput needs it); 1,000 concurrent requests then admit exactly N.
 * - Acquire, SQLite: the owning process keeps the live counts in memory (loaded from the table at
 *   start, expired by its own clock) and writes the lease row in the decision's batch; decisions
 *   run one at a time in that process, so the check and the increment are not interleaved.
 * - Release: `UPDATE "GenerationLease" SET "releasedAt" = now, "outcome" = $2 WHERE "id" = $1 AND
 *   "releasedAt" IS NULL AND "expiresAt" > now` - one row changed frees the slot (and, for failed,
 *   refunds the ticket once through RefundedTicket); none changed means already released or
 *   expired: nothing is freed twice. Bump LeaseTotal in the same transaction.
 * - Heartbeat: the same condition, SET "expiresAt" = now + ttl, "heartbeatAt" = now.
 * - Expiry bookkeeping (any instance, any time): `UPDATE ... SET "outcome" = 'expired',
 *   "releasedAt" = "expiresAt" WHERE "releasedAt" IS NULL AND "expiresAt" <= now RETURNING
 *   "tierId"` and LeaseTotal.expired += count per tier in the same transaction; the row's
 *   condition is re-checked under its lock, so two sweepers count each expiry once.
 */
import type { TDb } from '@coolant/db';

/** Live leases per tier id at `now`. */
export async function countInflight(req: { db: TDb; now: Date }): Promise<Map<string, number>> {
  const rows = await req.db.generationLease.groupBy({
    by: ['tierId'],
    where: { releasedAt: null, expiresAt: { gt: req.now } },
    _count: { _all: true },
  });
  return new Map(rows.map((r) => [r.tierId, r._count._all]));
}

/** How far back released leases count as "observed" for retryAfterSeconds, and how many at most. */
export const OBSERVED_WINDOW_MS = 10 * 60_000;
export const OBSERVED_MAX = 500;

/** Durations (ms) of the leases released normally in the last ten minutes, newest first. */
export async function observedLeaseDurations(req: { db: TDb; now: Date; tierId?: string }): Promise<number[]> {
  const rows = await req.db.generationLease.findMany({
    where: {
      outcome: { in: ['done', 'failed'] },
      releasedAt: { gte: new Date(req.now.getTime() - OBSERVED_WINDOW_MS) },
      ...(req.tierId ? { tierId: req.tierId } : {}),
    },
    select: { createdAt: true, releasedAt: true },
    orderBy: { releasedAt: 'desc' },
    take: OBSERVED_MAX,
  });
  return rows.map((r) => r.releasedAt!.getTime() - r.createdAt.getTime()).filter((d) => d >= 0);
}

export type TLeaseTotals = { acquired: number; done: number; failed: number; expired: number };

/** Lease totals per tier id since the install. */
export async function readLeaseTotals(req: { db: TDb }): Promise<Map<string, TLeaseTotals>> {
  const rows = await req.db.leaseTotal.findMany();
  return new Map(
    rows.map((r) => [
      r.tierId,
      { acquired: Number(r.acquired), done: Number(r.done), failed: Number(r.failed), expired: Number(r.expired) },
    ]),
  );
}
