/**
 * The lease statements both stores share, with the placeholder style of each driver. Kept in one
 * place because their WHERE clauses are the plan of lease-counts.ts: live = releasedAt IS NULL AND
 * expiresAt > now, and each transition is conditional on it, so nothing is freed or counted twice.
 */
export type TDialect = 'sqlite' | 'postgresql';

/** LeaseTotal += 1 in the named column (acquired, done, failed or expired) for one tier. */
export function totalBumpSql(d: TDialect, column: 'acquired' | 'done' | 'failed' | 'expired', by = '1'): string {
  const p = d === 'sqlite' ? '?' : '$1';
  const amount = by === '1' ? '1' : d === 'sqlite' ? '?' : '$2';
  return `INSERT INTO "LeaseTotal" ("tierId","${column}") VALUES (${p}, ${amount})
    ON CONFLICT ("tierId") DO UPDATE SET "${column}" = "LeaseTotal"."${column}" + excluded."${column}"`;
}

export const SQLITE_INSERT_LEASE = `INSERT INTO "GenerationLease"
  ("id","tierId","subject","cost","ticketNonce","consumedAtMin","createdAt","expiresAt","instanceId","holder")
  VALUES (?,?,?,?,?,?,?,?,?,?)`;

/** Abandoned (its consume refused by the quota): it never counted, so `acquired` is taken back too. */
export const SQLITE_ABANDON = `DELETE FROM "GenerationLease" WHERE "id" = ?`;
export const SQLITE_UNACQUIRE = `UPDATE "LeaseTotal" SET "acquired" = "acquired" - 1 WHERE "tierId" = ?`;

export const SQLITE_RELEASE = `UPDATE "GenerationLease" SET "releasedAt" = ?, "outcome" = ?
  WHERE "id" = ? AND "releasedAt" IS NULL AND "expiresAt" > ?`;

export const SQLITE_HEARTBEAT = `UPDATE "GenerationLease" SET "heartbeatAt" = ?, "expiresAt" = ?
  WHERE "id" = ? AND "releasedAt" IS NULL AND "expiresAt" > ?`;

export const SQLITE_SWEEP = `UPDATE "GenerationLease" SET "outcome" = 'expired', "releasedAt" = "expiresAt"
  WHERE "releasedAt" IS NULL AND "expiresAt" <= ? RETURNING "tierId"`;

export const LEASE_ROW_COLS = `"id","tierId","subject","cost","ticketNonce","consumedAtMin","releasedAt","outcome"`;

/** Ended leases are kept a day (observed durations read ten minutes; the rest is for people looking). */
export const LEASE_RETENTION_MS = 24 * 3600_000;
