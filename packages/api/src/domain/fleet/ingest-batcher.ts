/**
 * Group commit for agent.report, as admission does for its decisions (admission/memory-store.ts):
 * reports that arrive in the same I/O phase are stored in one transaction, and each is answered
 * only after that transaction is durable (the agent deletes what it was told is stored). On
 * PostgreSQL every transaction costs its round trips: one per batch instead of one per report.
 * On SQLite the sync is the cost: an fsync of the WAL took 3-7 ms on the shared 2-core machine
 * (0.09 ms for the commit without it), and synchronous=FULL does it on the event loop at every
 * commit. So the batch commits without it and is answered after one fsync in the thread pool,
 * which covers every batch committed before it started (raw.ts syncWal): as durable as FULL.
 *
 * Each report keeps its own answer: a node that is gone or revoked fails alone (decided before
 * anything is written), and if a batch fails as a whole its reports are stored one by one, each
 * in its own transaction, so one bad report cannot fail the others.
 */
import { SqliteBusyError, type TPgRaw, type TSqliteRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { writePgBatch, type TBatchOutcome } from './ingest-batch-pg';
import { asIngestError } from './ingest-node';
import { ingestInSqliteTx, ingestReport, type TIngestReport, type TIngestResult } from './ingest-report';

type TPending = { report: TIngestReport; resolve(r: TIngestResult): void; reject(e: unknown): void };

/** A transaction stays short: at most this many GPU readings (a drained spool can hold 6,400 in one report). */
const MAX_GPU_ROWS_PER_BATCH = 20_000;
const MAX_REPORTS_PER_BATCH = 500;
const BUSY_WAIT_MS = 5_000;
// Measured under bench/ingest.ts on PostgreSQL: 3 in flight carried ~2x the reports of 1 (pool then 10 connections, shared with admission; 16 now, admission taking up to 14).
const PG_BATCHES_IN_FLIGHT = 3;

export class IngestBatcher {
  private queue: TPending[] = [];
  private flushing: Promise<void> | null = null;
  private inFlight = 0;
  /** Transactions committed and reports they carried, for the bench and /metrics readers. */
  readonly stats = { batches: 0, reports: 0, fallbacks: 0 };

  constructor(private readonly raw: TSqliteRaw | TPgRaw) {}

  ingest(report: TIngestReport): Promise<TIngestResult> {
    const p = new Promise<TIngestResult>((resolve, reject) => this.queue.push({ report, resolve, reject }));
    // After the current I/O phase, so every report whose body arrived in it joins the batch.
    this.flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.flushLoop());
    return p;
  }

  /**
   * While a batch is written the next one fills up. On PostgreSQL a batch mostly waits on round
   * trips, so up to PG_BATCHES_IN_FLIGHT are written at once (on their own pooled connections; the
   * node rows locked in id order keep them from deadlocking, and a report of a node locked by
   * another batch waits for its commit and reads the row it left).
   */
  private async flushLoop(): Promise<void> {
    try {
      if (this.raw.kind === 'postgresql') {
        while (this.queue.length > 0 && this.inFlight < PG_BATCHES_IN_FLIGHT) {
          this.inFlight++;
          void this.writeOne(this.take()).finally(() => {
            this.inFlight--;
            if (this.queue.length > 0) this.flushing ??= Promise.resolve().then(() => this.flushLoop());
          });
        }
        return;
      }
      while (this.queue.length > 0) await this.writeOne(this.take());
    } finally {
      this.flushing = null;
    }
  }

  private take(): TPending[] {
    let rows = 0;
    let n = 0;
    while (n < this.queue.length && n < MAX_REPORTS_PER_BATCH) {
      rows += this.queue[n]!.report.samples.reduce((sum, s) => sum + Math.max(1, s.gpus.length), 0);
      if (n > 0 && rows > MAX_GPU_ROWS_PER_BATCH) break;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async writeOne(batch: TPending[]): Promise<void> {
    let outcomes: TBatchOutcome[];
    try {
      outcomes = await this.write(batch.map((p) => p.report));
      this.stats.batches++;
      this.stats.reports += batch.length;
    } catch (error) {
      // Still locked after the wait: one by one would wait as long again for each report.
      if (error instanceof SqliteBusyError) {
        for (const p of batch) p.reject(asIngestError(error));
        return;
      }
      // Nothing of this batch was stored (the transaction rolled back): each report on its own,
      // so the one that failed it is answered with its own error and the others are stored.
      this.stats.fallbacks++;
      for (const p of batch) await ingestReport({ raw: this.raw, ...p.report }).then(p.resolve, p.reject);
      return;
    }
    const answer = () =>
      batch.forEach((p, i) => {
        const o = outcomes[i]!;
        if (o instanceof AppError) p.reject(o);
        else p.resolve(o);
      });
    if (this.raw.kind === 'postgresql') return answer();
    // Answered once the WAL is on disk. Not awaited: the next batch commits while this one syncs,
    // and one fsync then covers every batch committed before it started.
    this.raw.syncWal().then(answer, (error: unknown) => {
      for (const p of batch) p.reject(asIngestError(error));
    });
  }

  private async write(reports: TIngestReport[]): Promise<TBatchOutcome[]> {
    if (this.raw.kind === 'postgresql') return writePgBatch({ raw: this.raw, reports });
    const raw = this.raw;
    // Reports are applied in arrival order inside one IMMEDIATE transaction; each reads its node
    // row after the earlier ones wrote theirs, so two reports of one node count as sequential.
    // The commit does not wait for the disk here; writeOne answers after syncWal().
    const run = () =>
      raw.transactionUnsynced((tx) =>
        reports.map((r): TBatchOutcome => {
          try {
            return ingestInSqliteTx({ ...r, tx });
          } catch (error) {
            // Refused before it wrote anything (node gone or revoked): this report only.
            if (error instanceof AppError) return error;
            throw error;
          }
        }),
      );
    // The Prisma connection may hold the write lock across an await: wait without blocking the event loop.
    const deadline = Date.now() + BUSY_WAIT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        return run();
      } catch (error) {
        if (!(error instanceof SqliteBusyError) || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
