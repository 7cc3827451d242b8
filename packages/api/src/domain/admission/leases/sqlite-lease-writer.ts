/**
 * The SQLite lease store's writes, grouped: every write asked for while the previous group commits
 * goes into the next one, one IMMEDIATE transaction and one WAL sync for all of them, each caller
 * answered after its group is on disk. Without it, 1,000 concurrent lease requests would be 1,000
 * fsyncs on the event loop. The Prisma connection may hold the write lock across an await: a busy
 * database is waited for without blocking the loop, as sqlite-batch.ts does.
 */
import { SqliteBusyError, type TSqliteRaw, type TSqliteTx } from '@coolant/db';
import { AppError } from '../../../lib/app-error';

type TOp = { fn(tx: TSqliteTx): unknown; resolve(v: unknown): void; reject(e: unknown): void };

const BUSY_WAIT_MS = 5_000;

export class SqliteLeaseWriter {
  private queue: TOp[] = [];
  private flushing: Promise<void> | null = null;

  constructor(private readonly raw: TSqliteRaw) {}

  /** Runs `fn` in the next group's transaction; resolves with its result once that group is durable. */
  run<T>(fn: (tx: TSqliteTx) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: (v) => resolve(v as T), reject });
      if (!this.flushing) this.flushing = this.loop();
    });
  }

  /** Resolves once every write asked for so far has committed (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async loop(): Promise<void> {
    // The group is taken after the current I/O phase, so requests that arrived together share it.
    await new Promise((r) => setImmediate(r));
    try {
      while (this.queue.length > 0) {
        const ops = this.queue;
        this.queue = [];
        try {
          const results = await this.commit(ops);
          await this.raw.syncWal();
          ops.forEach((op, i) => op.resolve(results[i]));
        } catch (error) {
          const e =
            error instanceof AppError
              ? error
              : new AppError('UNAVAILABLE', 'database unavailable', {
                  cause: String((error as Error)?.message ?? error),
                });
          for (const op of ops) op.reject(e);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private async commit(ops: TOp[]): Promise<unknown[]> {
    const deadline = Date.now() + BUSY_WAIT_MS;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        return this.raw.transactionUnsynced((tx) => ops.map((op) => op.fn(tx)));
      } catch (error) {
        if (!(error instanceof SqliteBusyError) || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
