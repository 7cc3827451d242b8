// Group commit of the SQLite admission store, pipelined: the decisions made in one I/O phase are
// one batch, written as soon as that phase ends and answered once the fdatasync covering its
// commit has finished. The sync runs in the thread pool and is not awaited by the loop, so the
// next batch is decided and written while the previous one's sync runs (the profile showed a
// quarter of the time idle, waiting on that sync). Batch N+1 is never answered before batch N.
import type { TSqliteRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import type { QuotaDeltas } from './quota-deltas';
import { newBatch, writeBatch, type TBatch } from './sqlite-batch';

export type TGroupCommitOptions = {
  raw: TSqliteRaw;
  deltas: QuotaDeltas;
  /** A batch that did not commit: take its decisions back (its callers get `unavailable`). */
  reverted(batch: TBatch): void;
  /** A batch that is committed and durable, just before its callers are answered. */
  synced(batch: TBatch): void;
  /** A batch committed whose sync failed: nothing is undone, its callers get `unavailable`. */
  unsynced(batch: TBatch): void;
  /** After each batch written (folds, trims). */
  written(): void;
  /** When the loop has nothing left to write. */
  idle(): void;
};

export class GroupCommit {
  /** The open batch: decisions queue here until the current I/O phase ends. */
  batch = newBatch();
  /** The batch being written (while a busy database is waited for): its counters stay resident. */
  writing: TBatch | null = null;
  private flushing: Promise<void> | null = null;
  /** Settles once every batch written so far has been synced (and answered). */
  private lastSync: Promise<void> = Promise.resolve();
  /** Batches written and not answered yet (their sync runs). */
  private syncing = 0;

  constructor(private readonly o: TGroupCommitOptions) {}

  /** Whether a flush runs or a batch syncs: the store is not quiet. */
  get busy(): boolean {
    return this.flushing !== null || this.syncing > 0;
  }

  /** Resolves once everything queued so far is committed and synced. */
  commit(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => this.batch.waiters.push({ resolve, reject }));
    // Flush after the current I/O phase: every decision made for the requests that arrived
    // together goes into one transaction.
    if (!this.flushing) this.flushing = new Promise<void>((r) => setImmediate(r)).then(() => this.flushLoop());
    return p;
  }

  /** Waits until every batch queued so far is answered. */
  async drain(): Promise<void> {
    if (this.flushing) await this.flushing;
    await this.lastSync;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.batch.waiters.length > 0) {
        const batch = this.batch;
        this.batch = newBatch();
        this.writing = batch;
        let committed: boolean;
        try {
          committed = await writeBatch({ raw: this.o.raw, deltas: this.o.deltas, batch });
        } catch (error) {
          this.writing = null;
          this.o.reverted(batch);
          fail(batch, error);
          continue;
        }
        this.writing = null;
        // Answered only once the WAL holding the commit is on disk (what synchronous=FULL would have
        // waited for), and after every batch before it: its decisions may rest on theirs. A failed
        // sync does not revert: the rows are committed, so the counters stay counted (the safe
        // direction) and the callers are told "unavailable".
        const synced = Promise.all([committed ? this.o.raw.syncWal() : null, this.lastSync]);
        this.syncing++;
        this.lastSync = synced
          .finally(() => this.syncing--)
          .then(
            () => {
              this.o.synced(batch);
              for (const w of batch.waiters) w.resolve();
            },
            (error: unknown) => {
              this.o.unsynced(batch);
              fail(batch, error);
            },
          );
        this.o.written();
      }
    } finally {
      this.flushing = null;
      this.o.idle();
    }
  }
}

function fail(batch: TBatch, error: unknown): void {
  const failure = new AppError('UNAVAILABLE', 'database unavailable: the decision could not be recorded', {
    cause: String((error as Error).message ?? error),
  });
  for (const w of batch.waiters) w.reject(failure);
}
