// One batch of the SQLite admission store: the decisions made in one I/O phase, committed in one
// transaction (deltas appended to QuotaDelta, requestId answers, refunded tickets) and answered
// together after the sync. Kept apart from the store so the transaction's shape is one function.
import { sqliteDate, SqliteBusyError, type TRawStatement, type TSqliteRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import type { QuotaDeltas, TDeltaRow } from './quota-deltas';
import type { TRequestRow } from './recent-requests';
import { requestUpsertSql } from './sql';

export type TBatch = {
  deltas: Map<string, TDeltaRow>;
  requests: TRequestRow[];
  /** Refunded tickets, written in the same transaction as the counters they give back. */
  refunds: { nonce: string; expiresAt: Date }[];
  waiters: { resolve(): void; reject(e: unknown): void }[];
};

const BUSY_WAIT_MS = 5_000;
const REFUND_SQL = 'INSERT INTO "RefundedTicket" ("nonce","refundedAt","expiresAt") VALUES (?,?,?)';
/** Built once, not per request: the text is also the statement cache's key. */
const REQUEST_SQL = requestUpsertSql('sqlite');

export function newBatch(): TBatch {
  return { deltas: new Map(), requests: [], refunds: [], waiters: [] };
}

/**
 * Commits the batch without waiting for the disk (the caller syncs the WAL before answering);
 * true when there was something to commit. The Prisma connection may hold the write lock across
 * an await: waited for without blocking the event loop, up to BUSY_WAIT_MS.
 */
export async function writeBatch(req: { raw: TSqliteRaw; deltas: QuotaDeltas; batch: TBatch }): Promise<boolean> {
  const { raw, batch } = req;
  const deltas = [...batch.deltas.values()].filter((d) => d.delta !== 0);
  if (deltas.length === 0 && batch.requests.length === 0 && batch.refunds.length === 0) return false;
  const statements: TRawStatement[] = [];
  for (const r of batch.requests) {
    statements.push({
      sql: REQUEST_SQL,
      params: [r.requestId, r.fingerprint, r.response, sqliteDate(r.now), sqliteDate(r.expiresAt)],
    });
  }
  if (batch.refunds.length > 0) {
    const now = sqliteDate(new Date());
    for (const f of batch.refunds)
      statements.push({ sql: REFUND_SQL, params: [f.nonce, now, sqliteDate(f.expiresAt)] });
  }
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      const appended = raw.transactionUnsynced((tx) => {
        const a = req.deltas.append(tx, deltas);
        for (const st of statements) tx.run(st.sql, st.params);
        return a;
      });
      if (appended) req.deltas.committed(appended);
      return true;
    } catch (error) {
      if (!(error instanceof SqliteBusyError) || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Whether a ticket's refund has committed (the store also remembers the ones queued). */
export function isRefunded(req: { raw: TSqliteRaw; nonce: string }): boolean {
  try {
    return req.raw.all('SELECT 1 FROM "RefundedTicket" WHERE "nonce" = ?', [req.nonce]).length > 0;
  } catch (error) {
    throw new AppError('UNAVAILABLE', 'database unavailable', { cause: String(error) });
  }
}
