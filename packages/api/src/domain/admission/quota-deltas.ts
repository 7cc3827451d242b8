// The SQLite admission store's increments, appended to QuotaDelta and folded into QuotaCounter later.
// Why: with a million counters in a day, an upsert per decision dirties one random page of
// QuotaCounter's b-tree (a 256-decision commit wrote ~1 MB of WAL, 6.8 ms at 1M rows against 0.68 ms
// at 1,000); an append touches the delta table's last pages only. A fold takes a chunk of deltas in
// commit order, adds them up per counter, upserts the sums in key order and deletes the chunk, all
// in one transaction: a crash leaves either the deltas or their sums, never both and never neither.
// A counter's exact value is its QuotaCounter row plus its unfolded deltas; the store reads only
// QuotaCounter, so a counter with unfolded deltas stays resident (pinned here) until folded.
import type { TSqliteRaw, TSqliteTx } from '@coolant/db';
import type { TWindow } from './windows';

export type TDeltaRow = {
  key: string;
  tierId: string;
  window: TWindow;
  subject: string;
  startMin: number;
  delta: number;
};

/** Rows per append statement: a few fixed shapes, so the prepared-statement cache stays small. */
const STATEMENT_ROWS = [256, 32, 4, 1];
const COLS = 6;

function appendSql(rows: number): string {
  const cells = `(${Array.from({ length: COLS }, () => '?').join(',')})`;
  return `INSERT INTO "QuotaDelta" ("seq","tierId","window","subject","windowStartMin","delta") VALUES ${Array.from({ length: rows }, () => cells).join(',')}`;
}
/** Built once: the text was rebuilt (and hashed again for the statement cache) at every append (~1 % of the hot path). */
const APPEND_SQL = new Map(STATEMENT_ROWS.map((rows) => [rows, appendSql(rows)]));

// WHERE before ON CONFLICT: SQLite's parser needs it to tell the upsert from a join constraint.
const FOLD_SQL = `INSERT INTO "QuotaCounter" ("tierId","window","subject","windowStartMin","used")
SELECT "tierId","window","subject","windowStartMin",SUM("delta") FROM "QuotaDelta" WHERE "seq" > ? AND "seq" <= ?
GROUP BY "tierId","window","subject","windowStartMin" ORDER BY "tierId","window","subject","windowStartMin"
ON CONFLICT ("tierId","window","subject","windowStartMin") DO UPDATE SET "used" = MAX(0, "QuotaCounter"."used" + excluded."used")`;
const FOLDED_SQL = 'DELETE FROM "QuotaDelta" WHERE "seq" > ? AND "seq" <= ?';

type TAppended = { first: number; keys: string[]; done: number };

export class QuotaDeltas {
  /** Highest seq written by a committed transaction, and highest folded. Deltas in (folded, written] are in QuotaDelta. */
  private written = 0;
  private folded = 0;
  private nextSeq = 0;
  /** Counters with unfolded deltas: key -> seq of its last one. */
  private readonly unfolded = new Map<string, number>();
  /** Committed appends not wholly folded yet, oldest first: keys[k] has seq first + k; done are folded. */
  private readonly pending: TAppended[] = [];
  private ready = false;

  constructor(private readonly raw: TSqliteRaw) {}

  /** Deltas appended and not folded yet. */
  get backlog(): number {
    return this.written - this.folded;
  }

  /** Whether the counter has deltas that QuotaCounter does not hold yet. */
  has(key: string): boolean {
    return this.unfolded.has(key);
  }

  /**
   * Folds whatever a previous process left (it may have stopped between an append and its fold),
   * so QuotaCounter alone holds every counter before the first read. Synchronous: once, at start.
   */
  init(foldRows: number): void {
    if (this.ready) return;
    const row = this.raw.all('SELECT MIN("seq") AS lo, MAX("seq") AS hi FROM "QuotaDelta"')[0] as {
      lo: number | null;
      hi: number | null;
    };
    if (row.hi !== null) {
      this.folded = Number(row.lo) - 1;
      this.written = Number(row.hi);
      while (this.backlog > 0) this.foldStep(foldRows);
    }
    this.nextSeq = this.written + 1;
    this.ready = true;
  }

  /**
   * Appends the rows inside the caller's transaction. The seqs are this process's (the one owner of
   * the file); call committed() once the transaction has committed, so nothing is pinned or folded
   * for a batch that rolled back (its seqs are skipped: gaps are harmless).
   */
  append(tx: TSqliteTx, rows: TDeltaRow[]): TAppended | null {
    if (rows.length === 0) return null;
    const first = this.nextSeq;
    this.nextSeq += rows.length;
    let i = 0;
    for (const size of STATEMENT_ROWS) {
      for (; rows.length - i >= size; i += size) {
        const params: unknown[] = [];
        for (let k = i; k < i + size; k++) {
          const d = rows[k]!;
          params.push(first + k, d.tierId, d.window, d.subject, d.startMin, d.delta);
        }
        tx.run(APPEND_SQL.get(size)!, params);
      }
    }
    return { first, keys: rows.map((d) => d.key), done: 0 };
  }

  committed(appended: TAppended): void {
    appended.keys.forEach((key, k) => this.unfolded.set(key, appended.first + k));
    this.pending.push(appended);
    this.written = appended.first + appended.keys.length - 1;
  }

  /**
   * Folds up to `rows` of the oldest deltas in one transaction; the counters whose every delta is
   * folded are unpinned. Throws what the transaction throws (SqliteBusyError: try again later).
   */
  foldStep(rows: number): number {
    if (this.backlog <= 0) return 0;
    const lo = this.folded;
    const hi = Math.min(this.written, lo + rows);
    // Unsynced: losing this commit to a power cut loses the fold only (the deltas are still there, and
    // are folded at the next start); the next synced commit makes it durable along with everything before it.
    this.raw.transactionUnsynced((tx) => {
      tx.run(FOLD_SQL, [lo, hi]);
      tx.run(FOLDED_SQL, [lo, hi]);
    });
    this.folded = hi;
    // A counter is unpinned once its latest delta is folded (a later append moved its seq on).
    while (this.pending.length > 0) {
      const a = this.pending[0]!;
      for (; a.done < a.keys.length && a.first + a.done <= hi; a.done++) {
        const key = a.keys[a.done]!;
        if ((this.unfolded.get(key) ?? Infinity) <= hi) this.unfolded.delete(key);
      }
      if (a.done < a.keys.length) break;
      this.pending.shift();
    }
    return hi - lo;
  }
}
