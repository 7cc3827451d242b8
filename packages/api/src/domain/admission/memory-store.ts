import { sqliteDate, SqliteBusyError, withBusyRetry, type TDb, type TRawStatement, type TSqliteRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { chunk, counterUpsertSql, requestUpsertSql } from './sql';
import type { TAdmissionStore, TConsumeAttempt, TConsumeResponse, TRefundAttempt, TRequestRecord, TStoredRequest } from './types';
import { WINDOW_MINUTES, windowResetMs, windowStartMin, type TWindow } from './windows';

type TBucket = { tierId: string; window: TWindow; startMin: number; resetMs: number; used: Map<string, number> };
type TDelta = { tierId: string; window: TWindow; subject: string; startMin: number; delta: number };
type TBatch = {
  deltas: Map<string, TDelta>;
  requests: (Omit<TRequestRecord, 'response'> & { response: string })[];
  /** Refunded tickets, written in the same transaction as the counters they give back. */
  refunds: { nonce: string; expiresAt: Date }[];
  waiters: { resolve(): void; reject(e: unknown): void }[];
};

const REQUEST_MEMORY_MS = 10 * 60_000;
const BUSY_WAIT_MS = 5_000;
const PAGE = 50_000;

function newBatch(): TBatch {
  return { deltas: new Map(), requests: [], refunds: [], waiters: [] };
}

/**
 * Counters held by the one process that owns the SQLite database. A decision
 * is made in memory (JavaScript runs one at a time, so it is exact), queued,
 * and answered only after the batch it belongs to has committed: an answer
 * the gateway sees is durable. If the commit fails, the batch's increments
 * are taken back and its requests get `unavailable`.
 */
export class MemoryAdmissionStore implements TAdmissionStore {
  readonly kind = 'memory' as const;
  private buckets = new Map<string, TBucket>();
  private recent = new Map<string, TStoredRequest & { expiresMs: number }>();
  /** Nonces of refunds queued or being written: not in the database yet, already spent. */
  private refunding = new Set<string>();
  private batch = newBatch();
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly db: TDb,
    private readonly raw: TSqliteRaw,
  ) {}

  private bucketKey(tierId: string, window: TWindow, startMin: number): string {
    return `${tierId}|${window}|${startMin}`;
  }

  private bucket(tierId: string, window: TWindow, startMin: number): TBucket {
    const key = this.bucketKey(tierId, window, startMin);
    let b = this.buckets.get(key);
    if (!b) {
      b = { tierId, window, startMin, resetMs: windowResetMs(window, startMin), used: new Map() };
      this.buckets.set(key, b);
    }
    return b;
  }

  /** Loads the counters of every window still open, page by page. */
  async start(now: Date): Promise<void> {
    const oldestOpen = windowStartMin('day', now.getTime());
    let cursor = { tierId: '', window: '', subject: '', startMin: -1 };
    for (;;) {
      const rows = await this.db.quotaCounter.findMany({
        where: {
          windowStartMin: { gte: oldestOpen },
          OR: [
            { tierId: { gt: cursor.tierId } },
            { tierId: cursor.tierId, window: { gt: cursor.window } },
            { tierId: cursor.tierId, window: cursor.window, subject: { gt: cursor.subject } },
            { tierId: cursor.tierId, window: cursor.window, subject: cursor.subject, windowStartMin: { gt: cursor.startMin } },
          ],
        },
        orderBy: [{ tierId: 'asc' }, { window: 'asc' }, { subject: 'asc' }, { windowStartMin: 'asc' }],
        take: PAGE,
      });
      for (const r of rows) {
        const window = r.window as TWindow;
        if (!(window in WINDOW_MINUTES)) continue;
        if (windowResetMs(window, r.windowStartMin) <= now.getTime()) continue;
        this.bucket(r.tierId, window, r.windowStartMin).used.set(r.subject, r.used);
      }
      if (rows.length < PAGE) break;
      const last = rows[rows.length - 1]!;
      cursor = { tierId: last.tierId, window: last.window, subject: last.subject, startMin: last.windowStartMin };
    }
  }

  async lookup(requestId: string, now: Date): Promise<TStoredRequest | null> {
    const hit = this.recent.get(requestId);
    if (hit) return { response: hit.response, fingerprint: hit.fingerprint };
    const pending = this.batch.requests.find((r) => r.requestId === requestId);
    if (pending) return { response: JSON.parse(pending.response) as TConsumeResponse, fingerprint: pending.fingerprint };
    const row = await this.db.admissionRequest.findUnique({ where: { requestId } });
    return row && row.expiresAt > now ? { response: JSON.parse(row.response) as TConsumeResponse, fingerprint: row.fingerprint } : null;
  }

  // One process owns the file and AdmissionService runs one decision per requestId at a time, after
  // lookup() found none: the answer given here is the one recorded.
  async remember(record: TRequestRecord): Promise<TConsumeResponse> {
    this.queueRequest(record);
    await this.commit();
    return record.response;
  }

  private queueRequest(record: TRequestRecord): void {
    this.recent.set(record.requestId, { response: record.response, fingerprint: record.fingerprint, expiresMs: Date.now() + REQUEST_MEMORY_MS });
    this.batch.requests.push({ ...record, response: JSON.stringify(record.response) });
  }

  async consume(a: TConsumeAttempt): Promise<TConsumeResponse> {
    if (this.closed) throw new AppError('UNAVAILABLE', 'admission store is shutting down');
    const buckets = a.slots.map((s) => this.bucket(a.tierId, s.window, s.startMin));
    const used = buckets.map((b) => b.used.get(a.subject) ?? 0);
    const ok = a.slots.every((s, i) => used[i]! + a.cost <= s.limit);
    if (!ok) {
      const response = a.build({ ok: false, used });
      if (a.requestId) await this.remember({ requestId: a.requestId, fingerprint: a.fingerprint, response, expiresAt: a.requestExpiresAt, now: a.now });
      return response;
    }
    // All or nothing: every limit had room, so every counter moves.
    const after = used.map((u) => u + a.cost);
    buckets.forEach((b, i) => b.used.set(a.subject, after[i]!));
    for (const s of a.slots) this.addDelta(a.tierId, s.window, a.subject, s.startMin, a.cost);
    const response = a.build({ ok: true, used: after });
    if (a.requestId) this.queueRequest({ requestId: a.requestId, fingerprint: a.fingerprint, response, expiresAt: a.requestExpiresAt, now: a.now });
    await this.commit();
    return response;
  }

  private addDelta(tierId: string, window: TWindow, subject: string, startMin: number, delta: number): void {
    const key = `${tierId}|${window}|${startMin}|${subject}`;
    const d = this.batch.deltas.get(key);
    if (d) d.delta += delta;
    else this.batch.deltas.set(key, { tierId, window, subject, startMin, delta });
  }

  /**
   * The ticket row goes into the same batch (one transaction) as the counters
   * it gives back: a failed commit leaves neither, and the ticket can be
   * refunded again. Checked and queued without an await in between, so two
   * refunds of one ticket cannot both pass.
   */
  async refund(r: TRefundAttempt): Promise<boolean> {
    if (this.closed) throw new AppError('UNAVAILABLE', 'admission store is shutting down');
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
      const b = this.buckets.get(this.bucketKey(r.tierId, window, startMin));
      const current = b?.used.get(r.subject) ?? 0;
      const give = Math.min(current, r.cost);
      if (give <= 0) continue;
      b!.used.set(r.subject, current - give);
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
   * Group commit: while one batch is being written, the next one fills up.
   * Under load each transaction carries many decisions.
   */
  private async flushLoop(): Promise<void> {
    try {
      while (this.batch.waiters.length > 0) {
        const batch = this.batch;
        this.batch = newBatch();
        try {
          await this.write(batch);
          // In the database now, where the next refund of these tickets finds them.
          for (const f of batch.refunds) this.refunding.delete(f.nonce);
          for (const w of batch.waiters) w.resolve();
        } catch (error) {
          this.revert(batch);
          const failure = new AppError('UNAVAILABLE', 'database unavailable: the decision could not be recorded', { cause: String((error as Error).message ?? error) });
          for (const w of batch.waiters) w.reject(failure);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private async write(batch: TBatch): Promise<void> {
    const deltas = [...batch.deltas.values()].filter((d) => d.delta !== 0);
    if (deltas.length === 0 && batch.requests.length === 0 && batch.refunds.length === 0) return;
    const statements: TRawStatement[] = chunk(deltas).map((rows) => ({
      sql: counterUpsertSql('sqlite', rows.length),
      params: rows.flatMap((d) => [d.tierId, d.window, d.subject, d.startMin, d.delta]),
    }));
    const now = sqliteDate(new Date());
    for (const r of batch.requests) {
      statements.push({ sql: requestUpsertSql('sqlite'), params: [r.requestId, r.fingerprint, r.response, sqliteDate(r.now), sqliteDate(r.expiresAt)] });
    }
    for (const f of batch.refunds) {
      statements.push({ sql: 'INSERT INTO "RefundedTicket" ("nonce","refundedAt","expiresAt") VALUES (?,?,?)', params: [f.nonce, now, sqliteDate(f.expiresAt)] });
    }
    // The Prisma connection may hold the write lock across an await; wait for it without blocking the event loop.
    const deadline = Date.now() + BUSY_WAIT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        this.raw.batch(statements);
        return;
      } catch (error) {
        if (!(error instanceof SqliteBusyError) || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private revert(batch: TBatch): void {
    for (const d of batch.deltas.values()) {
      const b = this.buckets.get(this.bucketKey(d.tierId, d.window, d.startMin));
      if (b) b.used.set(d.subject, Math.max(0, (b.used.get(d.subject) ?? 0) - d.delta));
    }
    for (const r of batch.requests) this.recent.delete(r.requestId);
    for (const f of batch.refunds) this.refunding.delete(f.nonce);
  }

  async prune(now: Date): Promise<{ counters: number }> {
    const nowMs = now.getTime();
    for (const [key, b] of this.buckets) if (b.resetMs <= nowMs) this.buckets.delete(key);
    for (const [id, r] of this.recent) if (r.expiresMs <= nowMs) this.recent.delete(id);
    let counters = 0;
    for (const window of Object.keys(WINDOW_MINUTES) as TWindow[]) {
      const res = await this.db.quotaCounter.deleteMany({ where: { window, windowStartMin: { lt: windowStartMin(window, nowMs) } } });
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
    return { counterRows: await this.db.quotaCounter.count() };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.flushing) await this.flushing;
  }
}
