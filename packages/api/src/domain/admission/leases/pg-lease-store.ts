/**
 * Leases on PostgreSQL, shared by every instance: an acquire is one transaction that locks the
 * CapacitySnapshot row (when capacity applies) and then the tier's row, counts live leases with the
 * database's clock, decides, and inserts the lease. Two instances cannot both see N-1: the second
 * waits on the lock and counts after the first commits (READ COMMITTED reads a fresh snapshot per
 * statement). Release, heartbeat and expiry are each one conditional statement (lease-sql.ts's
 * rule), so a slot is freed, and an expiry counted, exactly once whoever races.
 */
import type { TPgQuery, TPgRaw } from '@coolant/db';
import { AppError } from '../../../lib/app-error';
import { lockAndReadPg, toMs } from './capacity-inputs';
import { LEASE_RETENTION_MS, LEASE_ROW_COLS } from './lease-sql';
import type {
  TAcquireAttempt,
  TAcquireResult,
  TDecide,
  THeartbeatAttempt,
  THeartbeatStoreResult,
  TLeaseCounts,
  TLeaseRow,
  TLeaseState,
  TLeaseStore,
  TReleaseAttempt,
  TReleaseStoreResult,
} from './lease-types';

const LIVE = `"releasedAt" IS NULL AND "expiresAt" > now()`;
const MS = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8`;

const INSERT_SQL = `WITH l AS (INSERT INTO "GenerationLease"
    ("id","tierId","subject","cost","ticketNonce","consumedAtMin","createdAt","expiresAt","instanceId","holder")
    VALUES ($1, $2, $3, $4, $5, floor(extract(epoch FROM now()) / 60)::int, now(), now() + make_interval(secs => $6::float8), $7, $8)
    RETURNING "expiresAt"),
  t AS (INSERT INTO "LeaseTotal" ("tierId","acquired") VALUES ($2, 1)
    ON CONFLICT ("tierId") DO UPDATE SET "acquired" = "LeaseTotal"."acquired" + 1)
  SELECT ${MS('"expiresAt"')} AS "expiresAtMs" FROM l`;

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
  constructor(private readonly raw: TPgRaw) {}

  async start(): Promise<void> {}

  async acquire(a: TAcquireAttempt, decide: TDecide): Promise<TAcquireResult> {
    try {
      return await this.raw.transaction(async (query) => {
        const { capacity, bounds } = await lockAndReadPg(query, a.tierId);
        if (!bounds) throw new AppError('UNAVAILABLE', `tier ${a.tierName} is not in the database`);
        const needsCounts = capacity.enabled || bounds.perTier !== null || bounds.perSubject !== null;
        const counts = needsCounts
          ? await countLive(query, { tierId: a.tierId, subject: a.subject, allTiers: capacity.enabled })
          : { byTier: new Map<string, number>(), subject: 0 };
        // `now` here only judges C's age; the counts above used the database's clock.
        const verdict = decide({ bounds, counts, capacity, now: a.now });
        if (!verdict.admit) return { ok: false, verdict } as const;
        const rows = await query(
          INSERT_SQL,
          [a.id, a.tierId, a.subject, a.cost, a.ticketNonce, a.ttlSeconds, a.instanceId, a.holder],
          'lease_insert',
        );
        const expiresAtMs = toMs(rows[0]?.expiresAtMs) ?? a.now.getTime() + a.ttlSeconds * 1000;
        return { ok: true, grant: { id: a.id, expiresAt: new Date(expiresAtMs).toISOString() } } as const;
      });
    } catch (error) {
      throw unavailable(error);
    }
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

async function countLive(
  query: TPgQuery,
  req: { tierId: string; subject: string; allTiers: boolean },
): Promise<TLeaseCounts> {
  const rows = req.allTiers
    ? await query(
        `SELECT "tierId", count(*)::int AS n, (count(*) FILTER (WHERE "tierId" = $1 AND "subject" = $2))::int AS mine
         FROM "GenerationLease" WHERE ${LIVE} GROUP BY "tierId"`,
        [req.tierId, req.subject],
        'lease_count_all',
      )
    : await query(
        `SELECT $1::text AS "tierId", count(*)::int AS n, (count(*) FILTER (WHERE "subject" = $2))::int AS mine
         FROM "GenerationLease" WHERE "tierId" = $1 AND ${LIVE}`,
        [req.tierId, req.subject],
        'lease_count_tier',
      );
  const byTier = new Map<string, number>();
  let subject = 0;
  for (const r of rows) {
    if (Number(r.n) > 0) byTier.set(String(r.tierId), Number(r.n));
    if (String(r.tierId) === req.tierId) subject = Number(r.mine);
  }
  return { byTier, subject };
}
