/**
 * Leases on PostgreSQL, shared by every instance: acquires are batched into one transaction
 * (pg-lease-acquire.ts) that locks the CapacitySnapshot row (when capacity applies) and then the
 * tiers' rows, counts live leases with the database's clock, decides, and inserts. Two instances
 * cannot both see N-1: the second waits on the lock and counts after the first commits (READ
 * COMMITTED reads a fresh snapshot per statement). Release, heartbeat and expiry are each one conditional statement (lease-sql.ts's
 * rule), so a slot is freed, and an expiry counted, exactly once whoever races.
 */
import type { TPgRaw } from '@coolant/db';
import { AppError } from '../../../lib/app-error';
import { toMs } from './capacity-inputs';
import { LEASE_RETENTION_MS, LEASE_ROW_COLS } from './lease-sql';
import { PgLeaseAcquirer } from './pg-lease-acquire';
import type {
  TAcquireAttempt,
  TAcquireResult,
  TDecide,
  THeartbeatAttempt,
  THeartbeatStoreResult,
  TLeaseRow,
  TLeaseState,
  TLeaseStore,
  TReleaseAttempt,
  TReleaseStoreResult,
} from './lease-types';

const LIVE = `"releasedAt" IS NULL AND "expiresAt" > now()`;
const MS = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8`;

const ABANDON_SQL = `WITH d AS (DELETE FROM "GenerationLease" WHERE "id" = $1 RETURNING "tierId")
  UPDATE "LeaseTotal" SET "acquired" = "acquired" - 1 WHERE "tierId" IN (SELECT "tierId" FROM d)`;

const RELEASE_SQL = `WITH r AS (UPDATE "GenerationLease" SET "releasedAt" = now(), "outcome" = $2
    WHERE "id" = $1 AND ${LIVE} RETURNING ${LEASE_ROW_COLS}, "createdAt"),
  t AS (UPDATE "LeaseTotal" SET "done" = "done" + CASE WHEN $2 = 'done' THEN 1 ELSE 0 END,
      "failed" = "failed" + CASE WHEN $2 = 'failed' THEN 1 ELSE 0 END
    WHERE "tierId" IN (SELECT "tierId" FROM r))
  SELECT r.*, ${MS('r."createdAt"')} AS "createdAtMs", ${MS('r."releasedAt"')} AS "releasedAtMs" FROM r`;

/** Without ttlSeconds the lease gets its last TTL again (from its last heartbeat, or its start). */
const HEARTBEAT_SQL = `UPDATE "GenerationLease" SET "heartbeatAt" = now(),
    "expiresAt" = now() + COALESCE(make_interval(secs => $2::float8), "expiresAt" - COALESCE("heartbeatAt", "createdAt"))
  WHERE "id" = $1 AND ${LIVE} RETURNING ${MS('"expiresAt"')} AS "expiresAtMs"`;

/** The row's condition is re-checked under its lock, so two sweepers count each expiry once. */
const SWEEP_SQL = `WITH x AS (UPDATE "GenerationLease" SET "outcome" = 'expired', "releasedAt" = "expiresAt"
    WHERE "releasedAt" IS NULL AND "expiresAt" <= now() RETURNING "tierId"),
  c AS (SELECT "tierId", count(*)::int AS n FROM x GROUP BY "tierId"),
  t AS (INSERT INTO "LeaseTotal" ("tierId","expired") SELECT "tierId", n FROM c
    ON CONFLICT ("tierId") DO UPDATE SET "expired" = "LeaseTotal"."expired" + excluded."expired")
  SELECT "tierId", n FROM c`;

function unavailable(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('UNAVAILABLE', 'database unavailable', { cause: String((error as Error)?.message ?? error) });
}

export class PgLeaseStore implements TLeaseStore {
  private readonly acquirer: PgLeaseAcquirer;

  constructor(private readonly raw: TPgRaw) {
    this.acquirer = new PgLeaseAcquirer(raw);
  }

  async start(): Promise<void> {}

  acquire(a: TAcquireAttempt, decide: TDecide): Promise<TAcquireResult> {
    return this.acquirer.acquire(a, decide);
  }

  async abandon(req: { id: string }): Promise<void> {
    try {
      await this.raw.query(ABANDON_SQL, [req.id], 'lease_abandon');
    } catch (error) {
      throw unavailable(error);
    }
  }

  private async stateOf(id: string): Promise<TLeaseState> {
    const row = (
      await this.raw.query(
        `SELECT "releasedAt" IS NULL AS "open", "outcome" FROM "GenerationLease" WHERE "id" = $1`,
        [id],
        'lease_state',
      )
    )[0];
    if (!row) return 'unknown';
    if (row.open === true || row.outcome === 'expired') return 'expired';
    return 'already_released';
  }

  async release(r: TReleaseAttempt): Promise<TReleaseStoreResult> {
    try {
      const row = (await this.raw.query(RELEASE_SQL, [r.id, r.outcome], 'lease_release'))[0];
      if (!row) return { ok: false, state: await this.stateOf(r.id) };
      const lease: TLeaseRow = {
        id: String(row.id),
        tierId: String(row.tierId),
        subject: String(row.subject),
        cost: Number(row.cost),
        ticketNonce: row.ticketNonce === null ? null : String(row.ticketNonce),
        consumedAtMin: Number(row.consumedAtMin),
        createdAtMs: toMs(row.createdAtMs) ?? 0,
      };
      return { ok: true, row: lease, releasedAtMs: toMs(row.releasedAtMs) ?? r.now.getTime() };
    } catch (error) {
      throw unavailable(error);
    }
  }

  async heartbeat(h: THeartbeatAttempt): Promise<THeartbeatStoreResult> {
    try {
      const row = (await this.raw.query(HEARTBEAT_SQL, [h.id, h.ttlSeconds], 'lease_heartbeat'))[0];
      if (!row) return { ok: false, state: await this.stateOf(h.id) };
      return { ok: true, expiresAt: new Date(toMs(row.expiresAtMs) ?? 0).toISOString() };
    } catch (error) {
      throw unavailable(error);
    }
  }

  async sweep(): Promise<Map<string, number>> {
    try {
      const rows = await this.raw.query(SWEEP_SQL, [], 'lease_sweep');
      await this.raw.query(
        `DELETE FROM "GenerationLease" WHERE "releasedAt" IS NOT NULL AND "releasedAt" < now() - make_interval(secs => $1::float8)`,
        [LEASE_RETENTION_MS / 1000],
        'lease_prune',
      );
      return new Map(rows.map((r) => [String(r.tierId), Number(r.n)]));
    } catch (error) {
      throw unavailable(error);
    }
  }

  async close(): Promise<void> {}
}
