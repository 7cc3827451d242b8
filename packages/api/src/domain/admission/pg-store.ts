import type { TDb, TPgQuery, TPgRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { assertSameRequest } from './idempotency';
import { PgConsumeBatcher } from './pg-batcher';
import { PgRequestLookups } from './pg-lookups';
import { requestUpsertSql } from './sql';
import { TIER_SUBJECT } from './tier-slots';
import type {
  TAdmissionStore,
  TConsumeAttempt,
  TConsumeResponse,
  TRefundAttempt,
  TRequestRecord,
  TStoredRequest,
} from './types';
import { WINDOW_MINUTES, windowResetMs, windowStartMin, type TWindow } from './windows';

function unavailable(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('UNAVAILABLE', 'database unavailable', { cause: String((error as Error)?.message ?? error) });
}

/**
 * Counters in PostgreSQL, shared by every console instance. Consumes are
 * decided in batches (pg-batcher.ts, pg-consume-batch.ts): a conditional
 * upsert per limit (`used + cost <= limit`) on the latest row, all or nothing
 * per consume, each answered after its batch commits. Runs on its own pg pool
 * (see openRawSql for why not through Prisma).
 */
export class PgAdmissionStore implements TAdmissionStore {
  readonly kind = 'postgresql' as const;

  private readonly batcher: PgConsumeBatcher;
  private readonly lookups: PgRequestLookups;

  constructor(
    private readonly db: TDb,
    private readonly raw: TPgRaw,
  ) {
    this.batcher = new PgConsumeBatcher(raw);
    this.lookups = new PgRequestLookups(raw);
  }

  async start(): Promise<void> {}

  private async find(query: TPgQuery, requestId: string, now: Date): Promise<TStoredRequest | null> {
    const rows = await query(
      'SELECT "response","fingerprint" FROM "AdmissionRequest" WHERE "requestId" = $1 AND "expiresAt" > $2',
      [requestId, now],
    );
    return rows[0]
      ? { response: JSON.parse(String(rows[0].response)) as TConsumeResponse, fingerprint: String(rows[0].fingerprint) }
      : null;
  }

  async lookup(requestId: string, now: Date): Promise<TStoredRequest | null> {
    try {
      return await this.lookups.lookup(requestId, now);
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Inserts the answer, or gives the one recorded first (by another instance) when it is for the same request. */
  private async insertRequest(query: TPgQuery, r: TRequestRecord): Promise<TConsumeResponse> {
    const inserted = await query(requestUpsertSql('postgresql'), [
      r.requestId,
      r.fingerprint,
      JSON.stringify(r.response),
      r.now,
      r.expiresAt,
    ]);
    if (inserted.length > 0) return r.response;
    const first = await this.find(query, r.requestId, r.now);
    if (!first) throw new Error(`AdmissionRequest ${r.requestId} neither inserted nor found`);
    assertSameRequest(r.requestId, first.fingerprint, r.fingerprint);
    return first.response;
  }

  async remember(record: TRequestRecord): Promise<TConsumeResponse> {
    try {
      return await this.insertRequest(this.raw.query, record);
    } catch (error) {
      throw unavailable(error);
    }
  }

  async consume(a: TConsumeAttempt): Promise<TConsumeResponse> {
    try {
      return await this.batcher.consume(a);
    } catch (error) {
      throw unavailable(error);
    }
  }

  async refund(r: TRefundAttempt): Promise<boolean> {
    try {
      return await this.raw.transaction(async (query) => {
        const inserted = await query(
          'INSERT INTO "RefundedTicket" ("nonce","refundedAt","expiresAt") VALUES ($1, now(), $2) ON CONFLICT DO NOTHING RETURNING "nonce"',
          [r.nonce, r.expiresAt],
        );
        if (inserted.length === 0) return false;
        // In the order consumes lock them (the tier's rows, then the subject's, each by window and
        // start: see pg-tier-counters.ts), so a refund and a consume cannot deadlock.
        const windows = [...r.windows].sort((x, y) =>
          (x[2] ?? '') !== (y[2] ?? '') ? (x[2] ? -1 : 1) : x[0] === y[0] ? x[1] - y[1] : x[0] < y[0] ? -1 : 1,
        );
        for (const [window, startMin, scope] of windows) {
          if (windowResetMs(window, startMin) <= r.now.getTime()) continue;
          await query(
            'UPDATE "QuotaCounter" SET "used" = GREATEST(0, "used" - $5) WHERE "tierId" = $1 AND "window" = $2 AND "subject" = $3 AND "windowStartMin" = $4',
            [r.tierId, window, scope === 'tier' ? TIER_SUBJECT : r.subject, startMin, r.cost],
          );
        }
        return true;
      });
    } catch (error) {
      throw unavailable(error);
    }
  }

  async prune(now: Date): Promise<{ counters: number }> {
    let counters = 0;
    for (const window of Object.keys(WINDOW_MINUTES) as TWindow[]) {
      counters += (
        await this.db.quotaCounter.deleteMany({
          where: { window, windowStartMin: { lt: windowStartMin(window, now.getTime()) } },
        })
      ).count;
    }
    await this.db.admissionRequest.deleteMany({ where: { expiresAt: { lte: now } } });
    await this.db.refundedTicket.deleteMany({ where: { expiresAt: { lte: now } } });
    return { counters };
  }

  async size(): Promise<{ counterRows: number }> {
    return { counterRows: await this.db.quotaCounter.count() };
  }

  async close(): Promise<void> {}
}
