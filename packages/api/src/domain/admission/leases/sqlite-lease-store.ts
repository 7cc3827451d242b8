/**
 * Leases on SQLite, where one console process owns the file: the decision reads the tier's bounds
 * and the capacity inputs synchronously on the direct connection and the live counts from memory
 * (sqlite-live-leases.ts), and reserves in memory before any await, so it is exact; the row is
 * then written through the grouped writer and the caller is answered after its commit. Expiry is
 * judged by this process's clock, the one that wrote expiresAt.
 */
import { sqliteDate, type TRawRow, type TSqliteRaw } from '@coolant/db';
import { AppError } from '../../../lib/app-error';
import { readCapacityInputsSqlite, readTierBoundsSqlite, toMs } from './capacity-inputs';
import {
  LEASE_RETENTION_MS,
  LEASE_ROW_COLS,
  SQLITE_ABANDON,
  SQLITE_HEARTBEAT,
  SQLITE_INSERT_LEASE,
  SQLITE_RELEASE,
  SQLITE_SWEEP,
  SQLITE_UNACQUIRE,
  totalBumpSql,
} from './lease-sql';
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
import { LiveLeases } from './sqlite-live-leases';
import { SqliteLeaseWriter } from './sqlite-lease-writer';

function rowFrom(r: TRawRow, createdAtMs: number): TLeaseRow {
  return {
    id: String(r.id),
    tierId: String(r.tierId),
    subject: String(r.subject),
    cost: Number(r.cost),
    ticketNonce: r.ticketNonce === null || r.ticketNonce === undefined ? null : String(r.ticketNonce),
    consumedAtMin: Number(r.consumedAtMin),
    createdAtMs,
  };
}

export class SqliteLeaseStore implements TLeaseStore {
  readonly live = new LiveLeases();
  private readonly writer: SqliteLeaseWriter;
  /** Releases whose write is in flight: a second release of one of them is already_released. */
  private readonly releasing = new Set<string>();

  constructor(private readonly raw: TSqliteRaw) {
    this.writer = new SqliteLeaseWriter(raw);
  }

  async start(now: Date): Promise<void> {
    const rows = this.raw.all(
      `SELECT "id","tierId","subject","createdAt","expiresAt","heartbeatAt" FROM "GenerationLease" WHERE "releasedAt" IS NULL AND "expiresAt" > ?`,
      [sqliteDate(now)],
    );
    for (const r of rows) {
      const expiresAtMs = toMs(r.expiresAt) ?? 0;
      const from = toMs(r.heartbeatAt) ?? toMs(r.createdAt) ?? expiresAtMs;
      this.live.add(String(r.id), {
        tierId: String(r.tierId),
        subject: String(r.subject),
        expiresAtMs,
        ttlMs: expiresAtMs - from,
      });
    }
  }

  async acquire(a: TAcquireAttempt, decide: TDecide): Promise<TAcquireResult> {
    const nowMs = a.now.getTime();
    // From here to live.add, no await: nothing else can reserve in between.
    const bounds = readTierBoundsSqlite(this.raw, a.tierId);
    if (!bounds) throw new AppError('UNAVAILABLE', `tier ${a.tierName} is not in the database`);
    const capacity = readCapacityInputsSqlite(this.raw);
    const counts = this.live.counts({ tierId: a.tierId, subject: a.subject, nowMs });
    const verdict = decide({ bounds, counts, capacity, now: a.now });
    if (!verdict.admit) return { ok: false, verdict };
    const ttlMs = a.ttlSeconds * 1000;
    const expiresAtMs = nowMs + ttlMs;
    this.live.add(a.id, { tierId: a.tierId, subject: a.subject, expiresAtMs, ttlMs });
    try {
      await this.writer.run((tx) => {
        tx.run(SQLITE_INSERT_LEASE, [
          a.id,
          a.tierId,
          a.subject,
          a.cost,
          a.ticketNonce,
          Math.floor(nowMs / 60_000),
          sqliteDate(a.now),
          sqliteDate(new Date(expiresAtMs)),
          a.instanceId,
          a.holder,
        ]);
        tx.run(totalBumpSql('sqlite', 'acquired'), [a.tierId]);
      });
    } catch (error) {
      this.live.remove(a.id);
      throw error;
    }
    return { ok: true, grant: { id: a.id, expiresAt: new Date(expiresAtMs).toISOString() } };
  }

  async abandon(req: { id: string; tierId: string }): Promise<void> {
    this.live.remove(req.id);
    await this.writer.run((tx) => {
      if (tx.run(SQLITE_ABANDON, [req.id]).changes === 1) tx.run(SQLITE_UNACQUIRE, [req.tierId]);
    });
  }

  /** Why a lease that is not live here is not: never issued, released, or expired. */
  private stateOf(id: string): TLeaseState {
    if (this.releasing.has(id)) return 'already_released';
    const row = this.raw.all(`SELECT "releasedAt","outcome" FROM "GenerationLease" WHERE "id" = ?`, [id])[0];
    if (!row) return 'unknown';
    if (row.releasedAt === null || row.outcome === 'expired') return 'expired';
    return 'already_released';
  }

  async release(r: TReleaseAttempt): Promise<TReleaseStoreResult> {
    const nowMs = r.now.getTime();
    if (this.releasing.has(r.id)) return { ok: false, state: 'already_released' };
    const held = this.live.get(r.id, nowMs);
    if (!held) return { ok: false, state: this.stateOf(r.id) };
    // Freed in memory at once (no await since the check): a second release finds it gone.
    this.live.remove(r.id);
    this.releasing.add(r.id);
    const at = sqliteDate(r.now);
    try {
      const row = await this.writer.run((tx) => {
        if (tx.run(SQLITE_RELEASE, [at, r.outcome, r.id, at]).changes !== 1) return null;
        tx.run(totalBumpSql('sqlite', r.outcome), [held.tierId]);
        return tx.all(`SELECT ${LEASE_ROW_COLS}, "createdAt" FROM "GenerationLease" WHERE "id" = ?`, [r.id])[0] ?? null;
      });
      if (!row) return { ok: false, state: 'expired' };
      return { ok: true, row: rowFrom(row, toMs(row.createdAt) ?? nowMs), releasedAtMs: nowMs };
    } catch (error) {
      // Not released after all: the slot is held again while the lease lives.
      if (held.expiresAtMs > nowMs) this.live.add(r.id, held);
      throw error;
    } finally {
      this.releasing.delete(r.id);
    }
  }

  async heartbeat(h: THeartbeatAttempt): Promise<THeartbeatStoreResult> {
    const nowMs = h.now.getTime();
    if (this.releasing.has(h.id)) return { ok: false, state: 'already_released' };
    const held = this.live.get(h.id, nowMs);
    if (!held) return { ok: false, state: this.stateOf(h.id) };
    const before = { expiresAtMs: held.expiresAtMs, ttlMs: held.ttlMs };
    const ttlMs = h.ttlSeconds === null ? held.ttlMs : h.ttlSeconds * 1000;
    const expiresAtMs = nowMs + ttlMs;
    this.live.extend(h.id, expiresAtMs, ttlMs);
    const at = sqliteDate(h.now);
    try {
      const changed = await this.writer.run(
        (tx) => tx.run(SQLITE_HEARTBEAT, [at, sqliteDate(new Date(expiresAtMs)), h.id, at]).changes,
      );
      if (changed !== 1) return { ok: false, state: this.stateOf(h.id) };
    } catch (error) {
      this.live.extend(h.id, before.expiresAtMs, before.ttlMs);
      throw error;
    }
    return { ok: true, expiresAt: new Date(expiresAtMs).toISOString() };
  }

  async sweep(now: Date): Promise<Map<string, number>> {
    this.live.expire(now.getTime());
    const at = sqliteDate(now);
    const old = sqliteDate(new Date(now.getTime() - LEASE_RETENTION_MS));
    return this.writer.run((tx) => {
      const byTier = new Map<string, number>();
      for (const r of tx.all(SQLITE_SWEEP, [at])) byTier.set(String(r.tierId), (byTier.get(String(r.tierId)) ?? 0) + 1);
      for (const [tierId, n] of byTier) tx.run(totalBumpSql('sqlite', 'expired', '?'), [tierId, n]);
      tx.run(`DELETE FROM "GenerationLease" WHERE "releasedAt" IS NOT NULL AND "releasedAt" < ?`, [old]);
      return byTier;
    });
  }

  async close(): Promise<void> {
    await this.writer.drain();
  }
}
