import { sqliteDate, SqliteBusyError, withBusyRetry, type TDb, type TRawStatement, type TSqliteRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { requestUpsertSql } from './sql';
import { QuotaDeltas } from './quota-deltas';
import { counterKey, ResidentCounters } from './resident-counters';
import type {
  TAdmissionStore,
  TConsumeAttempt,
  TConsumeResponse,
  TRefundAttempt,
  TRequestRecord,
  TStoredRequest,
} from './types';
import { WINDOW_MINUTES, windowResetMs, windowStartMin, type TWindow } from './windows';

type TDelta = { key: string; tierId: string; window: TWindow; subject: string; startMin: number; delta: number };
type TBatch = {
  deltas: Map<string, TDelta>;
  requests: (Omit<TRequestRecord, 'response'> & { response: string })[];
  /** Refunded tickets, written in the same transaction as the counters they give back. */
  refunds: { nonce: string; expiresAt: Date }[];
  waiters: { resolve(): void; reject(e: unknown): void }[];
};

const REQUEST_MEMORY_MS = 10 * 60_000;
const BUSY_WAIT_MS = 5_000;
/**
 * Counters kept in memory (~120 bytes each with their key): the hot ones. The rest are read from
 * QuotaCounter by primary key when needed, a few microseconds on the direct connection.
 */
export const DEFAULT_RESIDENT_COUNTERS = 65_536;
/** requestId answers kept in memory for lookup(); older ones are read from AdmissionRequest. */
export const DEFAULT_RESIDENT_REQUESTS = 16_384;

const COUNTER_READ_SQL =
  'SELECT "used" FROM "QuotaCounter" WHERE "tierId" = ? AND "window" = ? AND "subject" = ? AND "windowStartMin" = ?';
const REQUEST_READ_SQL = 'SELECT "response", "fingerprint", "expiresAt" FROM "AdmissionRequest" WHERE "requestId" = ?';

/**
 * Deltas folded into QuotaCounter per transaction. Larger folds share more of QuotaCounter's pages
 * between deltas (and add up more of a hot counter's), but each blocks the event loop while it runs.
 */
export const DEFAULT_FOLD_ROWS = 8_192;
/** A smaller backlog is folded once the store has been quiet this long, not under load. */
const FOLD_IDLE_MS = 20;

function newBatch(): TBatch {
  return { deltas: new Map(), requests: [], refunds: [], waiters: [] };
}

/**
 * Counters of the one process that owns the SQLite database. A decision is
 * made synchronously against the counter's exact value (JavaScript runs one at
 * a time, so it is exact): from memory when the counter is resident, else read
 * from QuotaCounter by primary key on the direct connection, without an await
 * between the read and the decision. It is queued, and answered only after
 * the batch it belongs to has committed: an answer the gateway sees is
 * durable. If the commit fails, the batch's increments are taken back and its
 * requests get `unavailable`.
 *
 * A batch's increments are appended to QuotaDelta (see quota-deltas.ts) and
 * folded into QuotaCounter in chunks: after a batch once a chunk's worth has
 * built up, and when the store goes quiet. At 1,000,000 counters an upsert per
 * decision dirtied one random page of QuotaCounter each; an append does not.
 *
 * What is resident is bounded (ResidentCounters): a counter is dropped only
 * once its increments are folded, so QuotaCounter then holds its value (the
 * resident set is the bound plus fewer than one fold's counters). The table
 * and memory cannot diverge: this process is the only writer of the file (one
 * console per SQLite file is enforced at start), and what a previous process
 * left unfolded is folded before the first decision.
 */
export class MemoryAdmissionStore implements TAdmissionStore {
  readonly kind = 'memory' as const;
  private readonly counters: ResidentCounters;
  private readonly requestCapacity: number;
  /** Answers by requestId, oldest first; the open batch's are the newest (see queueRequest). */
  private recent = new Map<string, TStoredRequest & { expiresMs: number }>();
  /** Nonces of refunds queued or being written: not in the database yet, already spent. */
  private refunding = new Set<string>();
  private batch = newBatch();
  /** The batch being written (while a busy database is waited for): its counters stay resident. */
  private writing: TBatch | null = null;
  private flushing: Promise<void> | null = null;
  /** Settles once every batch written so far has been synced (and answered). */
  private lastSync: Promise<void> = Promise.resolve();
  /** Batches written and not answered yet (their sync runs): the store is not idle meanwhile. */
  private syncing = 0;
  private closed = false;
  private readonly deltas: QuotaDeltas;
  private readonly foldRows: number;
  private readonly foldIdleMs: number;
  private idleFold: NodeJS.Timeout | null = null;
  /** The last fold that failed other than busy (the deltas wait in QuotaDelta); for tests. */
  foldError: unknown = null;

  constructor(
    private readonly db: TDb,
    private readonly raw: TSqliteRaw,
    opts: { residentCounters?: number; residentRequests?: number; foldRows?: number; foldIdleMs?: number } = {},
  ) {
    this.counters = new ResidentCounters(opts.residentCounters ?? DEFAULT_RESIDENT_COUNTERS);
    this.requestCapacity = opts.residentRequests ?? DEFAULT_RESIDENT_REQUESTS;
    this.deltas = new QuotaDeltas(raw);
    this.foldRows = opts.foldRows ?? DEFAULT_FOLD_ROWS;
    this.foldIdleMs = opts.foldIdleMs ?? FOLD_IDLE_MS;
  }

  /** Folds what a previous process left in QuotaDelta; counters are then read when first needed. */
  async start(_now: Date): Promise<void> {
    this.ready();
  }

  /** Synchronous, so a decision never meets a QuotaCounter row with deltas of a previous process pending. */
  private ready(): void {
    try {
      this.deltas.init(this.foldRows);
    } catch (error) {
      throw new AppError('UNAVAILABLE', 'database unavailable', { cause: String(error) });
    }
  }

  /** Folds every delta appended so far into QuotaCounter (tests, reports, close), yielding between chunks. */
  async settle(): Promise<void> {
    this.ready();
    if (this.flushing) await this.flushing;
    await this.lastSync;
    const deadline = Date.now() + BUSY_WAIT_MS;
    while (this.deltas.backlog > 0) {
      try {
        this.deltas.foldStep(this.foldRows);
      } catch (error) {
        if (!(error instanceof SqliteBusyError) || Date.now() > deadline) throw error;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    this.counters.trim(this.pinned);
  }

  /** Resident counters and requestId answers (for tests and the scale benchmark). */
  resident(): { counters: number; requests: number } {
    return { counters: this.counters.size, requests: this.recent.size };
  }

  // Not in QuotaCounter yet: queued, being written, or appended and not folded.
  private readonly pinned = (key: string): boolean =>
    this.batch.deltas.has(key) || (this.writing?.deltas.has(key) ?? false) || this.deltas.has(key);

  /** The counter's exact value: resident, or read from the table (synchronously) and made resident. */
  private used(tierId: string, window: TWindow, startMin: number, subject: string): number {
    const key = counterKey(tierId, window, startMin, subject);
    const hit = this.counters.get(key);
    if (hit !== undefined) return hit;
    let rows;
    try {
      rows = this.raw.all(COUNTER_READ_SQL, [tierId, window, subject, startMin]);
    } catch (error) {
      throw new AppError('UNAVAILABLE', 'database unavailable', { cause: String(error) });
    }
    const used = rows.length > 0 ? Number(rows[0]!.used) : 0;
    this.counters.set(key, window, startMin, used);
    this.counters.trim(this.pinned);
    return used;
  }

  async lookup(requestId: string, now: Date): Promise<TStoredRequest | null> {
    const hit = this.recent.get(requestId);
    if (hit) return { response: hit.response, fingerprint: hit.fingerprint };
    let rows;
    try {
      rows = this.raw.all(REQUEST_READ_SQL, [requestId]);
    } catch (error) {
      throw new AppError('UNAVAILABLE', 'database unavailable', { cause: String(error) });
    }
    const row = rows[0] as { response: string; fingerprint: string; expiresAt: string | number } | undefined;
    const expiresMs = row ? (typeof row.expiresAt === 'number' ? row.expiresAt : Date.parse(row.expiresAt)) : 0;
    return row && expiresMs > now.getTime()
      ? { response: JSON.parse(row.response) as TConsumeResponse, fingerprint: row.fingerprint }
      : null;
  }

  // One process owns the file and AdmissionService runs one decision per requestId at a time, after
  // lookup() found none: the answer given here is the one recorded.
  async remember(record: TRequestRecord): Promise<TConsumeResponse> {
    this.queueRequest(record);
    await this.commit();
    return record.response;
  }

  private queueRequest(record: TRequestRecord): void {
    // Re-inserted, so the open batch's answers are always the newest entries (trimRequests relies on it).
    this.recent.delete(record.requestId);
    this.recent.set(record.requestId, {
      response: record.response,
      fingerprint: record.fingerprint,
      expiresMs: Date.now() + REQUEST_MEMORY_MS,
    });
    this.batch.requests.push({ ...record, response: JSON.stringify(record.response) });
  }

  /** Drops the oldest answers beyond the bound; only committed ones (lookup then reads the table). */
  private trimRequests(): void {
    const uncommitted = this.batch.requests.length + (this.writing?.requests.length ?? 0);
    for (const id of this.recent.keys()) {
      if (this.recent.size - uncommitted <= this.requestCapacity) break;
      this.recent.delete(id);
    }
  }

  async consume(a: TConsumeAttempt): Promise<TConsumeResponse> {
    if (this.closed) throw new AppError('UNAVAILABLE', 'admission store is shutting down');
    this.ready();
    // No await from here to the queued increments: nothing can change a counter in between.
    const used = a.slots.map((s) => this.used(a.tierId, s.window, s.startMin, a.subject));
    const ok = a.slots.every((s, i) => used[i]! + a.cost <= s.limit);
    if (!ok) {
      const response = a.build({ ok: false, used });
      if (a.requestId)
        await this.remember({
          requestId: a.requestId,
          fingerprint: a.fingerprint,
          response,
          expiresAt: a.requestExpiresAt,
          now: a.now,
        });
      return response;
    }
    // All or nothing: every limit had room, so every counter moves.
    const after = used.map((u) => u + a.cost);
    a.slots.forEach((s, i) => {
      this.counters.set(counterKey(a.tierId, s.window, s.startMin, a.subject), s.window, s.startMin, after[i]!);
      this.addDelta(a.tierId, s.window, a.subject, s.startMin, a.cost);
    });
    const response = a.build({ ok: true, used: after });
    if (a.requestId)
      this.queueRequest({
        requestId: a.requestId,
        fingerprint: a.fingerprint,
        response,
        expiresAt: a.requestExpiresAt,
        now: a.now,
      });
    await this.commit();
    return response;
  }

  private addDelta(tierId: string, window: TWindow, subject: string, startMin: number, delta: number): void {
    const key = counterKey(tierId, window, startMin, subject);
    const d = this.batch.deltas.get(key);
    if (d) d.delta += delta;
    else this.batch.deltas.set(key, { key, tierId, window, subject, startMin, delta });
  }

  /**
   * The ticket row goes into the same batch (one transaction) as the counters
   * it gives back: a failed commit leaves neither, and the ticket can be
   * refunded again. Checked and queued without an await in between, so two
   * refunds of one ticket cannot both pass.
   */
  async refund(r: TRefundAttempt): Promise<boolean> {
    if (this.closed) throw new AppError('UNAVAILABLE', 'admission store is shutting down');
    this.ready();
    if (this.refunding.has(r.nonce)) return false;
    let recorded: boolean;
    try {
      recorded = this.raw.all('SELECT 1 FROM "RefundedTicket" WHERE "nonce" = ?', [r.nonce]).length > 0;
    } catch (error) {
      throw new AppError('UNAVAILABLE', 'database unavailable', { cause: String(error) });
    }
    if (recorded) return false;
    this.refunding.add(r.nonce);
    this.batch.refunds.push({ nonce: r.nonce, expiresAt: r.expiresAt });
    for (const [window, startMin] of r.windows) {
      if (windowResetMs(window, startMin) <= r.now.getTime()) continue;
      // An evicted counter is read back: a refund gives back what the table holds, too.
      const current = this.used(r.tierId, window, startMin, r.subject);
      const give = Math.min(current, r.cost);
      if (give <= 0) continue;
      this.counters.update(counterKey(r.tierId, window, startMin, r.subject), current - give);
      this.addDelta(r.tierId, window, r.subject, startMin, -give);
    }
    await this.commit();
    return true;
  }

  /** Resolves once everything queued so far is committed. */
  private commit(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => this.batch.waiters.push({ resolve, reject }));
    // Flush after the current I/O phase: every decision made for the requests that arrived
    // together goes into one transaction.
    if (!this.flushing) this.flushing = new Promise<void>((r) => setImmediate(r)).then(() => this.flushLoop());
    return p;
  }

  /**
   * Group commit, pipelined: a batch is written as soon as the I/O phase that filled it ends, and
   * answered once the fdatasync that covers its commit has finished. The sync runs in the thread
   * pool and is not awaited here, so the next batch is decided and written while the previous one's
   * sync runs (the profile showed a quarter of the time idle, waiting on that sync). Batch N+1 is
   * never answered before batch N is durable.
   */
  private async flushLoop(): Promise<void> {
    try {
      while (this.batch.waiters.length > 0) {
        const batch = this.batch;
        this.batch = newBatch();
        this.writing = batch;
        let committed: boolean;
        try {
          committed = await this.write(batch);
        } catch (error) {
          this.writing = null;
          this.revert(batch);
          this.fail(batch, error);
          continue;
        }
        this.writing = null;
        // Answered only once the WAL holding the commit is on disk (what synchronous=FULL would have
        // waited for), and after every batch before it: its decisions may rest on theirs. A failed
        // sync does not revert: the rows are committed, so the counters stay counted (the safe
        // direction) and the callers are told "unavailable".
        const synced = Promise.all([committed ? this.raw.syncWal() : null, this.lastSync]);
        this.syncing++;
        this.lastSync = synced
          .finally(() => this.syncing--)
          .then(
            () => {
              // In the database and durable now, where the next refund of these tickets finds them.
              for (const f of batch.refunds) this.refunding.delete(f.nonce);
              for (const w of batch.waiters) w.resolve();
            },
            (error: unknown) => {
              this.unsynced(batch);
              this.fail(batch, error);
            },
          );
        // Under load the loop does not yield to timers: fold here once a chunk's worth has built up.
        while (this.deltas.backlog >= this.foldRows && this.foldNow());
        // Folded counters are in the table now and may go; the others stay.
        this.counters.trim(this.pinned);
        this.trimRequests();
      }
    } finally {
      this.flushing = null;
      this.scheduleIdleFold();
    }
  }

  private fail(batch: TBatch, error: unknown): void {
    const failure = new AppError('UNAVAILABLE', 'database unavailable: the decision could not be recorded', {
      cause: String((error as Error).message ?? error),
    });
    for (const w of batch.waiters) w.reject(failure);
  }

  /** One fold step; false if the database refused it (tried again at the next batch or when idle). */
  private foldNow(): boolean {
    try {
      this.deltas.foldStep(this.foldRows);
      return true;
    } catch (error) {
      // Busy (Prisma holds the lock) or failing: the deltas stay in QuotaDelta and their counters resident.
      if (!(error instanceof SqliteBusyError)) this.foldError = error;
      return false;
    }
  }

  private scheduleIdleFold(): void {
    if (this.idleFold || this.deltas.backlog === 0 || this.closed) return;
    this.idleFold = setTimeout(() => {
      this.idleFold = null;
      if (this.flushing) return; // the flush loop's end schedules the next one
      // Not quiet: a batch is syncing, so the flush loop runs again soon (and folds full chunks).
      if (this.syncing > 0) return this.scheduleIdleFold();
      this.foldNow();
      this.counters.trim(this.pinned);
      this.scheduleIdleFold();
    }, this.foldIdleMs);
    this.idleFold.unref();
  }

  /** Marks a committed batch whose WAL sync failed: its callers get an error, nothing is undone. */
  private unsynced(batch: TBatch): void {
    for (const f of batch.refunds) this.refunding.delete(f.nonce);
    batch.deltas.clear();
    batch.requests.length = 0;
    batch.refunds.length = 0;
  }

  /** Commits the batch without waiting for the disk; true when there was something to commit. */
  private async write(batch: TBatch): Promise<boolean> {
    const deltas = [...batch.deltas.values()].filter((d) => d.delta !== 0);
    if (deltas.length === 0 && batch.requests.length === 0 && batch.refunds.length === 0) return false;
    const statements: TRawStatement[] = [];
    const now = sqliteDate(new Date());
    for (const r of batch.requests) {
      statements.push({
        sql: requestUpsertSql('sqlite'),
        params: [r.requestId, r.fingerprint, r.response, sqliteDate(r.now), sqliteDate(r.expiresAt)],
      });
    }
    for (const f of batch.refunds) {
      statements.push({
        sql: 'INSERT INTO "RefundedTicket" ("nonce","refundedAt","expiresAt") VALUES (?,?,?)',
        params: [f.nonce, now, sqliteDate(f.expiresAt)],
      });
    }
    // The Prisma connection may hold the write lock across an await; wait for it without blocking the event loop.
    const deadline = Date.now() + BUSY_WAIT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        const appended = this.raw.transactionUnsynced((tx) => {
          const a = this.deltas.append(tx, deltas);
          for (const st of statements) tx.run(st.sql, st.params);
          return a;
        });
        if (appended) this.deltas.committed(appended);
        return true;
      } catch (error) {
        if (!(error instanceof SqliteBusyError) || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private revert(batch: TBatch): void {
    // Resident by construction: a counter with uncommitted (or unfolded) increments is never dropped.
    for (const [key, d] of batch.deltas)
      this.counters.update(key, Math.max(0, (this.counters.get(key) ?? 0) - d.delta));
    for (const r of batch.requests) this.recent.delete(r.requestId);
    for (const f of batch.refunds) this.refunding.delete(f.nonce);
  }

  async prune(now: Date): Promise<{ counters: number }> {
    const nowMs = now.getTime();
    this.counters.dropEnded(nowMs);
    for (const [id, r] of this.recent) if (r.expiresMs <= nowMs) this.recent.delete(id);
    let counters = 0;
    for (const window of Object.keys(WINDOW_MINUTES) as TWindow[]) {
      // Deltas first: a fold between the two deletes then has nothing of the ended window left to write back.
      await this.db.quotaDelta.deleteMany({ where: { window, windowStartMin: { lt: windowStartMin(window, nowMs) } } });
      const res = await this.db.quotaCounter.deleteMany({
        where: { window, windowStartMin: { lt: windowStartMin(window, nowMs) } },
      });
      counters += res.count;
    }
    await this.db.admissionRequest.deleteMany({ where: { expiresAt: { lte: now } } });
    await this.db.refundedTicket.deleteMany({ where: { expiresAt: { lte: now } } });
    if (counters > 0) {
      // Give the freed pages back (auto_vacuum is incremental on databases Coolant created) and
      // truncate the WAL, so a day with millions of subjects does not leave the file at its peak.
      await withBusyRetry(() => {
        this.raw.exec('PRAGMA incremental_vacuum');
        this.raw.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      }).catch(() => {});
    }
    return { counters };
  }

  async size(): Promise<{ counterRows: number }> {
    await this.settle();
    return { counterRows: await this.db.quotaCounter.count() };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleFold) clearTimeout(this.idleFold);
    this.idleFold = null;
    if (this.flushing) await this.flushing;
    await this.lastSync;
    // Left to the next start's replay if the database will not take it now.
    await this.settle().catch(() => {});
  }
}
