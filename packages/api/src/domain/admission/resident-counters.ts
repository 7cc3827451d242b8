// The counters the SQLite store keeps in memory: a bounded LRU of the hot ones, so the console's
// memory does not grow with the number of subjects seen in a day (a launch brings tens of millions).
// A counter that is not resident is read from the QuotaCounter table, which holds its exact value:
// only counters whose every increment has committed are ever dropped (see MemoryAdmissionStore).
import type { TSqliteRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { windowResetMs, type TWindow } from './windows';

export type TCounterKey = { tierId: string; window: TWindow; startMin: number; subject: string };

/** One string per counter; the subject last, so a subject containing '|' cannot collide. */
export function counterKey(tierId: string, window: TWindow, startMin: number, subject: string): string {
  return `${tierId}|${window}|${startMin}|${subject}`;
}

/** `at`: the entry's place in the order of appends (see get). */
type TEntry = { used: number; resetMs: number; at: number };

export class ResidentCounters {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  private readonly entries = new Map<string, TEntry>();
  private appended = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`resident counter capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The counter's value if resident (and marks it used), else undefined. Marking it moves it to the
   * back (delete and set again), but only once more than a quarter of the capacity was appended
   * after it: until then trim cannot reach it anyway. Why: V8 leaves a deleted Map entry in its
   * key's hash chain until the next rehash, so a key moved on every use (the tier-wide counter,
   * used by every consume of its tier) made each lookup walk thousands of them: 50 µs a use at
   * 32,000 counters, against 0.5 µs for a key moved once in a while.
   */
  get(key: string): number | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.appended - e.at > this.capacity >> 2) {
      this.entries.delete(key);
      e.at = ++this.appended;
      this.entries.set(key, e);
    }
    return e.used;
  }

  set(key: string, window: TWindow, startMin: number, used: number): void {
    const e = this.entries.get(key);
    if (e) {
      e.used = used;
      return;
    }
    this.entries.set(key, { used, resetMs: windowResetMs(window, startMin), at: ++this.appended });
  }

  /** Updates a resident counter only (a reverted increment of a counter that is resident by construction). */
  update(key: string, used: number): void {
    const e = this.entries.get(key);
    if (e) e.used = used;
  }

  /**
   * Drops least recently used counters once there are an eighth more than `capacity`, down to
   * `capacity`, skipping the pinned ones (increments not committed yet: the table does not have
   * them, so they must stay). In chunks, not one per new counter: a Map deleted from its front one
   * entry at a time walks the holes left by the previous deletions on every call.
   */
  trim(pinned: (key: string) => boolean): void {
    if (this.entries.size <= this.capacity + (this.capacity >> 3)) return;
    let excess = this.entries.size - this.capacity;
    const keep: [string, TEntry][] = [];
    for (const [key, e] of this.entries) {
      if (excess <= 0) break;
      this.entries.delete(key);
      if (pinned(key)) keep.push([key, e]);
      else excess--;
    }
    // Pinned ones go back as most recently used: they were just written.
    for (const [key, e] of keep) {
      e.at = ++this.appended;
      this.entries.set(key, e);
    }
  }

  /** Drops the counters of windows that have ended. */
  dropEnded(nowMs: number): void {
    for (const [key, e] of this.entries) if (e.resetMs <= nowMs) this.entries.delete(key);
  }
}

const COUNTER_READ_SQL =
  'SELECT "used" FROM "QuotaCounter" WHERE "tierId" = ? AND "window" = ? AND "subject" = ? AND "windowStartMin" = ?';

/** A counter that is not resident, as QuotaCounter holds it (0 when it has no row). */
export function readStoredCounter(req: { raw: TSqliteRaw } & TCounterKey): number {
  let rows;
  try {
    rows = req.raw.all(COUNTER_READ_SQL, [req.tierId, req.window, req.subject, req.startMin]);
  } catch (error) {
    throw new AppError('UNAVAILABLE', 'database unavailable', { cause: String(error) });
  }
  return rows.length > 0 ? Number(rows[0]!.used) : 0;
}
