// The SQLite admission store: exact decisions in memory, committed per batch, answered after the
// sync (see the class comment). Its parts: resident-counters.ts (what stays in memory),
// quota-deltas.ts (appends and folds), recent-requests.ts (requestId answers), sqlite-batch.ts
// (one batch's transaction), sqlite-prune.ts (ended windows).
import type { TDb, TSqliteRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { DeltaFolder } from './delta-folder';
import { QuotaDeltas } from './quota-deltas';
import { RecentRequests } from './recent-requests';
import { counterKey, readStoredCounter, ResidentCounters } from './resident-counters';
import { GroupCommit } from './group-commit';
import { isRefunded, type TBatch } from './sqlite-batch';
import { pruneSqliteAdmission } from './sqlite-prune';
import { counterSubject, TIER_SUBJECT } from './tier-slots';
import type {
  TAdmissionStore,
  TConsumeAttempt,
  TConsumeResponse,
  TRefundAttempt,
  TRequestRecord,
  TStoredRequest,
} from './types';
import { windowResetMs, type TWindow } from './windows';

/**
 * Counters kept in memory (~120 bytes each with their key): the hot ones. The rest are read from
 * QuotaCounter by primary key when needed, a few microseconds on the direct connection.
 */
export const DEFAULT_RESIDENT_COUNTERS = 65_536;
/** requestId answers kept in memory for lookup(); older ones are read from AdmissionRequest. */
export const DEFAULT_RESIDENT_REQUESTS = 16_384;

/**
 * Deltas folded into QuotaCounter per transaction. Larger folds share more of QuotaCounter's pages
 * between deltas (and add up more of a hot counter's), but each blocks the event loop while it runs.
 */
export const DEFAULT_FOLD_ROWS = 8_192;
/** A smaller backlog is folded once the store has been quiet this long, not under load. */
const FOLD_IDLE_MS = 20;

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
 * A batch's increments are appended to QuotaDelta and folded into
 * QuotaCounter in chunks (quota-deltas.ts, delta-folder.ts).
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
  private readonly recent: RecentRequests;
  /** Nonces of refunds queued or being written: not in the database yet, already spent. */
  private refunding = new Set<string>();
  private readonly group: GroupCommit;
  private closed = false;
  private readonly deltas: QuotaDeltas;
  private readonly folder: DeltaFolder;

  constructor(
    private readonly db: TDb,
    private readonly raw: TSqliteRaw,
    opts: { residentCounters?: number; residentRequests?: number; foldRows?: number; foldIdleMs?: number } = {},
  ) {
    this.counters = new ResidentCounters(opts.residentCounters ?? DEFAULT_RESIDENT_COUNTERS);
    this.recent = new RecentRequests(raw, opts.residentRequests ?? DEFAULT_RESIDENT_REQUESTS);
    this.deltas = new QuotaDeltas(raw);
    this.group = new GroupCommit({
      raw,
      deltas: this.deltas,
      reverted: (b) => this.revert(b),
      synced: (b) => this.synced(b),
      unsynced: (b) => this.unsynced(b),
      written: () => {
        // Under load the loop does not yield to timers: fold here once a chunk's worth has built up.
        this.folder.foldFull();
        // Folded counters are in the table now and may go; the others stay.
        this.counters.trim(this.pinned);
        // Only committed answers may go (lookup then reads the table).
        this.recent.trim({
          uncommitted: this.group.batch.requests.length + (this.group.writing?.requests.length ?? 0),
        });
      },
      idle: () => this.folder.scheduleIdle(),
    });
    this.folder = new DeltaFolder({
      deltas: this.deltas,
      foldRows: opts.foldRows ?? DEFAULT_FOLD_ROWS,
      foldIdleMs: opts.foldIdleMs ?? FOLD_IDLE_MS,
      // Not quiet while a flush runs or a batch syncs: the flush loop runs again soon (and folds full chunks).
      busy: () => this.group.busy,
      folded: () => this.counters.trim(this.pinned),
    });
  }

  /** Folds what a previous process left in QuotaDelta; counters are then read when first needed. */
  async start(_now: Date): Promise<void> {
    this.folder.ready();
  }

  /** Folds every delta appended so far into QuotaCounter (tests, reports, close), yielding between chunks. */
  async settle(): Promise<void> {
    await this.group.drain();
    await this.folder.settle();
    this.counters.trim(this.pinned);
  }

  /** Resident counters and requestId answers (for tests and the scale benchmark). */
  resident(): { counters: number; requests: number } {
    return { counters: this.counters.size, requests: this.recent.size };
  }

  // Not in QuotaCounter yet: queued, being written, or appended and not folded.
  private readonly pinned = (key: string): boolean =>
    this.group.batch.deltas.has(key) || (this.group.writing?.deltas.has(key) ?? false) || this.deltas.has(key);

  /** The counter's exact value: resident, or read from the table (synchronously) and made resident. */
  private used(tierId: string, window: TWindow, startMin: number, subject: string): number {
    const key = counterKey(tierId, window, startMin, subject);
    const hit = this.counters.get(key);
    if (hit !== undefined) return hit;
    const used = readStoredCounter({ raw: this.raw, tierId, window, startMin, subject });
    this.counters.set(key, window, startMin, used);
    this.counters.trim(this.pinned);
    return used;
  }

  async lookup(requestId: string, now: Date): Promise<TStoredRequest | null> {
    return this.recent.lookup({ requestId, now });
  }

  // One process owns the file and AdmissionService runs one decision per requestId at a time, after
  // lookup() found none: the answer given here is the one recorded.
  async remember(record: TRequestRecord): Promise<TConsumeResponse> {
    this.group.batch.requests.push(this.recent.remember(record));
    await this.group.commit();
    return record.response;
  }

  async consume(a: TConsumeAttempt): Promise<TConsumeResponse> {
    if (this.closed) throw new AppError('UNAVAILABLE', 'admission store is shutting down');
    this.folder.ready();
    // No await from here to the queued increments: nothing can change a counter in between.
    // A tier-scope limit's counter is the tier's (subject ""), beside the subject's own.
    const used = a.slots.map((s) => this.used(a.tierId, s.window, s.startMin, counterSubject(s, a.subject)));
    const ok = a.slots.every((s, i) => used[i]! + a.cost <= s.limit);
    // All or nothing: every limit of both scopes had room, so every counter moves; a refusal moves none.
    const after = ok ? used.map((u) => u + a.cost) : used;
    if (ok)
      a.slots.forEach((s, i) => {
        const subject = counterSubject(s, a.subject);
        this.counters.set(counterKey(a.tierId, s.window, s.startMin, subject), s.window, s.startMin, after[i]!);
        this.addDelta(a.tierId, s.window, subject, s.startMin, a.cost);
      });
    const response = a.build({ ok, used: after });
    const { requestId, fingerprint, requestExpiresAt: expiresAt, now } = a;
    if (requestId)
      this.group.batch.requests.push(this.recent.remember({ requestId, fingerprint, response, expiresAt, now }));
    // A refusal without a requestId wrote nothing: nothing to wait for.
    else if (!ok) return response;
    await this.group.commit();
    return response;
  }

  private addDelta(tierId: string, window: TWindow, subject: string, startMin: number, delta: number): void {
    const key = counterKey(tierId, window, startMin, subject);
    const d = this.group.batch.deltas.get(key);
    if (d) d.delta += delta;
    else this.group.batch.deltas.set(key, { key, tierId, window, subject, startMin, delta });
  }

  /**
   * The ticket row goes into the same batch (one transaction) as the counters
   * it gives back: a failed commit leaves neither, and the ticket can be
   * refunded again. Checked and queued without an await in between, so two
   * refunds of one ticket cannot both pass.
   */
  async refund(r: TRefundAttempt): Promise<boolean> {
    if (this.closed) throw new AppError('UNAVAILABLE', 'admission store is shutting down');
    this.folder.ready();
    if (this.refunding.has(r.nonce)) return false;
    if (isRefunded({ raw: this.raw, nonce: r.nonce })) return false;
    this.refunding.add(r.nonce);
    this.group.batch.refunds.push({ nonce: r.nonce, expiresAt: r.expiresAt });
    for (const [window, startMin, scope] of r.windows) {
      if (windowResetMs(window, startMin) <= r.now.getTime()) continue;
      const subject = scope === 'tier' ? TIER_SUBJECT : r.subject;
      // An evicted counter is read back: a refund gives back what the table holds, too.
      const current = this.used(r.tierId, window, startMin, subject);
      const give = Math.min(current, r.cost);
      if (give <= 0) continue;
      this.counters.update(counterKey(r.tierId, window, startMin, subject), current - give);
      this.addDelta(r.tierId, window, subject, startMin, -give);
    }
    await this.group.commit();
    return true;
  }

  /** Marks a committed batch whose WAL sync failed: its callers get an error, nothing is undone. */
  private unsynced(batch: TBatch): void {
    this.synced(batch);
    batch.deltas.clear();
    batch.requests.length = 0;
    batch.refunds.length = 0;
  }

  /** In the database and durable now, where the next refund of these tickets finds them. */
  private synced(batch: TBatch): void {
    for (const f of batch.refunds) this.refunding.delete(f.nonce);
  }

  private revert(batch: TBatch): void {
    // Resident by construction: a counter with uncommitted (or unfolded) increments is never dropped.
    for (const [key, d] of batch.deltas)
      this.counters.update(key, Math.max(0, (this.counters.get(key) ?? 0) - d.delta));
    for (const r of batch.requests) this.recent.forget(r.requestId);
    for (const f of batch.refunds) this.refunding.delete(f.nonce);
  }

  async prune(now: Date): Promise<{ counters: number }> {
    this.counters.dropEnded(now.getTime());
    this.recent.dropExpired({ nowMs: now.getTime() });
    return pruneSqliteAdmission({ db: this.db, raw: this.raw, now });
  }

  async size(): Promise<{ counterRows: number }> {
    await this.settle();
    return { counterRows: await this.db.quotaCounter.count() };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.folder.close();
    await this.group.drain();
    // Left to the next start's replay if the database will not take it now.
    await this.settle().catch(() => {});
  }
}
