/**
 * Gathers the consumes that arrive in one turn of the event loop into batches for
 * pg-consume-batch.ts, and keeps a few batches in flight on separate pooled connections, so
 * the next batch is decided while the previous one's commit is being flushed. A batch takes at
 * most one attempt per counter and per requestId (one statement cannot update a row twice, and
 * the statement decides each attempt against the row as it was before it); the others wait,
 * in arrival order, for a later batch. A tier-scope limit's row (pg-tier-counters.ts) is shared
 * by every attempt of its tier, so one batch takes them all, and while that batch runs the others
 * wait here for the next one rather than on the row's lock, holding a pooled connection.
 */
import type { TPgRaw } from '@coolant/db';
import { runConsumeBatch, slotKey, type TBatchItem } from './pg-consume-batch';
import { tierRowKey } from './pg-tier-counters';
import type { TConsumeAttempt, TConsumeResponse } from './types';

/**
 * Batches in flight at once. A batch's time is mostly its commit's WAL flush (pg_stat_activity
 * during bench/admission.ts: WALSync/WALWrite); batches in flight together share a flush (group
 * commit), as the anchor's ten pooled single-statement commits do. The pool's size less two (14 of
 * the default 16), so refunds, requestId lookups, leases and the ingest batcher still find a
 * connection soon (pg.Pool serves waiters in order; none starves): an in-process run (16 callers) and interleaved
 * HTTP runs came out ahead of 2 and 4 with 8 of 10; then, interleaved over the built console
 * (bench/admission.ts's load, 3 rounds, load average ~3), 14 of 16 carried 2.7-3.1k decisions/s
 * against 2.4k with 8 of 10, 2.5k with 10 of 10 and 2.1-2.7k with 2 or 4. Batches still form
 * whenever more consumes arrive in one I/O phase than connections are free.
 */
const RESERVED_CONNECTIONS = 2;
/** Attempts per batch: arrays, so no parameter limit, but a bound on one statement's time. */
const MAX_BATCH = 512;

export class PgConsumeBatcher {
  private queue: TBatchItem[] = [];
  private inFlight = 0;
  private scheduled = false;
  /** Tier rows of the batches in flight (only tiers with tier-scope limits have any). */
  private readonly tierRowsInFlight = new Set<string>();

  private readonly maxInFlight: number;

  constructor(private readonly raw: TPgRaw) {
    this.maxInFlight = Math.max(1, raw.poolSize - RESERVED_CONNECTIONS);
  }

  consume(a: TConsumeAttempt): Promise<TConsumeResponse> {
    return new Promise((resolve, reject) => {
      this.queue.push({ a, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    // After the current I/O phase, so every consume that arrived in it shares the batch.
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
        const batch = this.take();
        if (batch.length === 0) break;
        this.start(batch);
      }
    });
  }

  private take(): TBatchItem[] {
    const batch: TBatchItem[] = [];
    const rest: TBatchItem[] = [];
    const keys = new Set<string>();
    const ids = new Set<string>();
    for (const it of this.queue) {
      const a = it.a;
      const mine: string[] = [];
      let tierBusy = false;
      for (const s of a.slots) {
        if (s.scope !== 'tier') mine.push(slotKey(a.tierId, s.window, a.subject, s.startMin));
        else if (this.tierRowsInFlight.has(tierRowKey(a.tierId, s.window, s.startMin))) tierBusy = true;
      }
      const free =
        batch.length < MAX_BATCH &&
        !tierBusy &&
        !mine.some((k) => keys.has(k)) &&
        !(a.requestId && ids.has(a.requestId));
      if (!free) {
        rest.push(it);
        continue;
      }
      for (const k of mine) keys.add(k);
      if (a.requestId) ids.add(a.requestId);
      batch.push(it);
    }
    this.queue = rest;
    return batch;
  }

  private start(batch: TBatchItem[]): void {
    this.inFlight++;
    const tierRows: string[] = [];
    for (const { a } of batch)
      for (const s of a.slots) if (s.scope === 'tier') tierRows.push(tierRowKey(a.tierId, s.window, s.startMin));
    for (const k of tierRows) this.tierRowsInFlight.add(k);
    void runConsumeBatch(this.raw, batch).finally(() => {
      for (const k of tierRows) this.tierRowsInFlight.delete(k);
      this.inFlight--;
      this.schedule();
    });
  }
}
