// When the SQLite store's deltas are folded into QuotaCounter (quota-deltas.ts does the folding):
// under load after a batch once a chunk's worth has built up (the flush loop does not yield to
// timers), a smaller backlog once the store has been quiet for a moment, everything on settle().
import { SqliteBusyError } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import type { QuotaDeltas } from './quota-deltas';

const BUSY_WAIT_MS = 5_000;

export type TDeltaFolderOptions = {
  deltas: QuotaDeltas;
  foldRows: number;
  foldIdleMs: number;
  /** True while the store is not quiet (a flush runs, a batch syncs): the idle fold waits. */
  busy(): boolean;
  /** After an idle fold: folded counters may leave memory. */
  folded(): void;
};

export class DeltaFolder {
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The last fold that failed other than busy (the deltas wait in QuotaDelta); for tests. */
  error: unknown = null;

  constructor(private readonly o: TDeltaFolderOptions) {}

  /** Folds what a previous process left; synchronous, so no decision meets a row with deltas pending. */
  ready(): void {
    try {
      this.o.deltas.init(this.o.foldRows);
    } catch (error) {
      throw new AppError('UNAVAILABLE', 'database unavailable', { cause: String(error) });
    }
  }

  /** Folds full chunks only (called after each batch under load). */
  foldFull(): void {
    while (this.o.deltas.backlog >= this.o.foldRows && this.foldNow());
  }

  /** One fold step; false if the database refused it (tried again at the next batch or when idle). */
  private foldNow(): boolean {
    try {
      this.o.deltas.foldStep(this.o.foldRows);
      return true;
    } catch (error) {
      // Busy (Prisma holds the lock) or failing: the deltas stay in QuotaDelta and their counters resident.
      if (!(error instanceof SqliteBusyError)) this.error = error;
      return false;
    }
  }

  scheduleIdle(): void {
    if (this.idleTimer || this.o.deltas.backlog === 0 || this.closed) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (!this.o.busy()) {
        this.foldNow();
        this.o.folded();
      }
      this.scheduleIdle();
    }, this.o.foldIdleMs);
    this.idleTimer.unref();
  }

  /** Folds everything appended so far, yielding between chunks. */
  async settle(): Promise<void> {
    this.ready();
    const deadline = Date.now() + BUSY_WAIT_MS;
    while (this.o.deltas.backlog > 0) {
      try {
        this.o.deltas.foldStep(this.o.foldRows);
      } catch (error) {
        if (!(error instanceof SqliteBusyError) || Date.now() > deadline) throw error;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  close(): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
