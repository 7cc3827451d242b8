/**
 * What the capacity rule needs, read with raw SQL where the lease decision runs: synchronously on
 * the SQLite owner's direct connection (microseconds, no await before the decision), and inside the
 * acquire transaction on PostgreSQL, where the CapacitySnapshot row is locked FOR UPDATE first so
 * every instance applies the same C and acquires that apply the rule are serialised. Timestamps
 * travel as epoch milliseconds so neither driver's time-zone handling is involved.
 */
import type { TPgQuery, TRawRow, TSqliteRaw } from '@coolant/db';
import type { TCapacitySnapshot } from '../../capacity/capacity-snapshot';
import { DEFAULT_GUARD_CONFIG, ZGuardConfig } from '../../guard/guard-config';
import type { TCapacityInputs, TTierBounds } from './lease-types';

const SNAPSHOT_COLS = `"seq","computedBy","state","slots","usableGpus","hotGpus","gpusTotal","gpusUnusable","nodesOnline","nodesOffline"`;
const SHARES_SQL = `SELECT s."tierId", t."name", s."priority", s."reserved" FROM "CapacityShare" s JOIN "Tier" t ON t."id" = s."tierId" WHERE t."retiredAt" IS NULL`;
const GUARD_SQL = `SELECT "config" FROM "GuardState" WHERE "id" = 1`;
const ENABLED_SQL = `SELECT "enabled" FROM "CapacityConfig" WHERE "id" = 1`;

/** A DATETIME as SQLite holds it (ISO text, or epoch ms from some writers) or a number from PostgreSQL. */
export function toMs(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  const n = Number(v);
  if (Number.isFinite(n) && /^\d+(\.\d+)?$/.test(String(v))) return n;
  const ms = Date.parse(String(v));
  return Number.isNaN(ms) ? null : ms;
}

function snapshotFrom(row: TRawRow | undefined): TCapacitySnapshot | null {
  if (!row) return null;
  const telemetryAt = toMs(row.telemetryAtMs);
  return {
    seq: Number(row.seq),
    computedAt: new Date(toMs(row.computedAtMs) ?? 0),
    computedBy: String(row.computedBy),
    state: row.state === 'ok' ? 'ok' : 'unknown',
    slots: Number(row.slots),
    usableGpus: Number(row.usableGpus),
    hotGpus: Number(row.hotGpus),
    gpusTotal: Number(row.gpusTotal),
    gpusUnusable: Number(row.gpusUnusable),
    nodesOnline: Number(row.nodesOnline),
    nodesOffline: Number(row.nodesOffline),
    telemetryAt: telemetryAt === null ? null : new Date(telemetryAt),
  };
}

function stallSecondsFrom(row: TRawRow | undefined): number {
  if (!row) return DEFAULT_GUARD_CONFIG.stallSeconds;
  try {
    const parsed = ZGuardConfig.safeParse(JSON.parse(String(row.config)));
    return (parsed.success ? parsed.data : DEFAULT_GUARD_CONFIG).stallSeconds;
  } catch {
    return DEFAULT_GUARD_CONFIG.stallSeconds;
  }
}

function sharesFrom(rows: TRawRow[]): TCapacityInputs['shares'] {
  return rows.map((r) => ({
    tierId: String(r.tierId),
    tier: String(r.name),
    priority: Number(r.priority),
    reserved: Number(r.reserved),
  }));
}

function boundsFrom(row: TRawRow | undefined): TTierBounds | null {
  if (!row) return null;
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    perTier: n(row.concurrencyPerTier),
    perSubject: n(row.concurrencyPerSubject),
    failMode: row.failMode === 'open' ? 'open' : 'closed',
  };
}

const BOUNDS_COLS = `"concurrencyPerTier","concurrencyPerSubject","failMode"`;

export function readCapacityInputsSqlite(raw: TSqliteRaw): TCapacityInputs {
  const enabled = raw.all(ENABLED_SQL)[0];
  if (!enabled || !Number(enabled.enabled)) return { enabled: false, snapshot: null, shares: [], stallSeconds: 0 };
  const snap = raw.all(
    `SELECT ${SNAPSHOT_COLS}, "computedAt" AS "computedAtMs", "telemetryAt" AS "telemetryAtMs" FROM "CapacitySnapshot" WHERE "id" = 1`,
  )[0];
  return {
    enabled: true,
    snapshot: snapshotFrom(snap),
    shares: sharesFrom(raw.all(SHARES_SQL)),
    stallSeconds: stallSecondsFrom(raw.all(GUARD_SQL)[0]),
  };
}

export function readTierBoundsSqlite(raw: TSqliteRaw, tierId: string): TTierBounds | null {
  return boundsFrom(raw.all(`SELECT ${BOUNDS_COLS} FROM "Tier" WHERE "id" = ?`, [tierId])[0]);
}

/**
 * In the acquire transaction, in lock order (the snapshot, then the tiers by id), so two instances'
 * acquires cannot deadlock. A tier gone meanwhile has no bounds in the answer.
 */
export async function lockAndReadPg(
  query: TPgQuery,
  tierIds: string[],
): Promise<{ capacity: TCapacityInputs; bounds: Map<string, TTierBounds> }> {
  const enabled = (await query(ENABLED_SQL, [], 'lease_cap_enabled'))[0];
  let capacity: TCapacityInputs = { enabled: false, snapshot: null, shares: [], stallSeconds: 0 };
  if (enabled?.enabled === true) {
    const snap = (
      await query(
        `SELECT ${SNAPSHOT_COLS}, extract(epoch FROM "computedAt") * 1000 AS "computedAtMs", extract(epoch FROM "telemetryAt") * 1000 AS "telemetryAtMs"
         FROM "CapacitySnapshot" WHERE "id" = 1 FOR UPDATE`,
        [],
        'lease_cap_snapshot',
      )
    )[0];
    capacity = { enabled: true, snapshot: snapshotFrom(snap), shares: [], stallSeconds: 0 };
  }
  const rows = await query(
    `SELECT "id", ${BOUNDS_COLS} FROM "Tier" WHERE "id" = ANY($1::text[]) ORDER BY "id" FOR UPDATE`,
    [tierIds],
    'lease_tier_lock',
  );
  const bounds = new Map(rows.map((r) => [String(r.id), boundsFrom(r)!]));
  if (capacity.enabled) {
    const shares = await query(SHARES_SQL, [], 'lease_cap_shares');
    const guard = await query(GUARD_SQL, [], 'lease_guard_config');
    capacity = { ...capacity, shares: sharesFrom(shares), stallSeconds: stallSecondsFrom(guard[0]) };
  }
  return { capacity, bounds };
}
