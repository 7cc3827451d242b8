// The SQLite store's requestId answers: the recent ones in memory (a retry usually comes within
// seconds), bounded, the rest read from AdmissionRequest by primary key. An answer is dropped from
// memory only once its row has committed, so lookup() then finds it in the table.
import type { TSqliteRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import type { TConsumeResponse, TRequestRecord, TStoredRequest } from './types';

const REQUEST_MEMORY_MS = 10 * 60_000;
const REQUEST_READ_SQL = 'SELECT "response", "fingerprint", "expiresAt" FROM "AdmissionRequest" WHERE "requestId" = ?';

/** A requestId's row as the batch writes it: the answer as JSON text. */
export type TRequestRow = Omit<TRequestRecord, 'response'> & { response: string };

export class RecentRequests {
  /** Answers by requestId, oldest first; the open batch's are the newest (see remember). */
  private readonly recent = new Map<string, TStoredRequest & { expiresMs: number }>();

  constructor(
    private readonly raw: TSqliteRaw,
    private readonly capacity: number,
  ) {}

  get size(): number {
    return this.recent.size;
  }

  lookup(req: { requestId: string; now: Date }): TStoredRequest | null {
    const hit = this.recent.get(req.requestId);
    if (hit) return { response: hit.response, fingerprint: hit.fingerprint };
    let rows;
    try {
      rows = this.raw.all(REQUEST_READ_SQL, [req.requestId]);
    } catch (error) {
      throw new AppError('UNAVAILABLE', 'database unavailable', { cause: String(error) });
    }
    const row = rows[0] as { response: string; fingerprint: string; expiresAt: string | number } | undefined;
    const expiresMs = row ? (typeof row.expiresAt === 'number' ? row.expiresAt : Date.parse(row.expiresAt)) : 0;
    return row && expiresMs > req.now.getTime()
      ? { response: JSON.parse(row.response) as TConsumeResponse, fingerprint: row.fingerprint }
      : null;
  }

  /** Keeps the answer and returns the row its batch writes. */
  remember(record: TRequestRecord): TRequestRow {
    // Re-inserted, so the open batch's answers are always the newest entries (trim relies on it).
    this.recent.delete(record.requestId);
    this.recent.set(record.requestId, {
      response: record.response,
      fingerprint: record.fingerprint,
      expiresMs: Date.now() + REQUEST_MEMORY_MS,
    });
    return { ...record, response: JSON.stringify(record.response) };
  }

  /** A batch that did not commit: its answers were never given. */
  forget(requestId: string): void {
    this.recent.delete(requestId);
  }

  /** Drops the oldest answers beyond the bound; only committed ones (the newest `uncommitted` stay). */
  trim(req: { uncommitted: number }): void {
    for (const id of this.recent.keys()) {
      if (this.recent.size - req.uncommitted <= this.capacity) break;
      this.recent.delete(id);
    }
  }

  dropExpired(req: { nowMs: number }): void {
    for (const [id, r] of this.recent) if (r.expiresMs <= req.nowMs) this.recent.delete(id);
  }
}
