import type { TDb, TPgQuery, TPgRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { assertSameRequest } from './idempotency';
import { requestUpsertSql } from './sql';
import type {
  TAdmissionStore,
  TConsumeAttempt,
  TConsumeResponse,
  TRefundAttempt,
  TRequestRecord,
  TStoredRequest,
} from './types';
import { WINDOW_MINUTES, windowResetMs, windowStartMin, type TWindow } from './windows';

/** Thrown inside the transaction to roll back the limits already incremented. */
class Refused extends Error {
  constructor() {
    super('refused');
  }
}

function unavailable(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('UNAVAILABLE', 'database unavailable', { cause: String((error as Error)?.message ?? error) });
}

const CONSUME_SQL = `INSERT INTO "QuotaCounter" ("tierId","window","subject","windowStartMin","used") VALUES ($1,$2,$3,$4,$5)
ON CONFLICT ("tierId","window","subject","windowStartMin") DO UPDATE SET "used" = "QuotaCounter"."used" + excluded."used"
WHERE "QuotaCounter"."used" + excluded."used" <= $6
RETURNING "used"`;

/**
 * Counters in PostgreSQL, shared by every console instance. One transaction
 * per consume: a conditional upsert per limit (`used + cost <= limit`), in a
 * fixed order so two consumes cannot deadlock; if any limit refuses, the
 * transaction rolls back and nothing was consumed. Runs on its own pg pool
 * (see openRawSql for why not through Prisma).
 */
export class PgAdmissionStore implements TAdmissionStore {
  readonly kind = 'postgresql' as const;

  constructor(
    private readonly db: TDb,
    private readonly raw: TPgRaw,
  ) {}

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
      return await this.find(this.raw.query, requestId, now);
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
    const order = a.slots.map((s, i) => ({ s, i })).sort((x, y) => x.s.window.localeCompare(y.s.window));
    try {
      return await this.raw.transaction(async (query) => {
        if (a.requestId) {
          // Serializes retries of one request across instances; the loser then finds the answer.
          await query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [a.requestId]);
          const prior = await this.find(query, a.requestId, a.now);
          if (prior) {
            assertSameRequest(a.requestId, prior.fingerprint, a.fingerprint);
            return prior.response;
          }
        }
        const used: number[] = new Array(a.slots.length).fill(0);
        for (const { s, i } of order) {
          const rows = await query(CONSUME_SQL, [a.tierId, s.window, a.subject, s.startMin, a.cost, s.limit]);
          if (rows.length === 0) throw new Refused();
          used[i] = Number(rows[0]!.used);
        }
        const response = a.build({ ok: true, used });
        // Under the lock no other answer can be recorded; an expired row is replaced.
        if (a.requestId)
          return await this.insertRequest(query, {
            requestId: a.requestId,
            fingerprint: a.fingerprint,
            response,
            expiresAt: a.requestExpiresAt,
            now: a.now,
          });
        return response;
      });
    } catch (error) {
      if (!(error instanceof Refused)) throw unavailable(error);
    }
    // Read after the rollback, so the answer shows what is really spent.
    let response: TConsumeResponse;
    try {
      const used: number[] = [];
      for (const s of a.slots) {
        const rows = await this.raw.query(
          'SELECT "used" FROM "QuotaCounter" WHERE "tierId" = $1 AND "window" = $2 AND "subject" = $3 AND "windowStartMin" = $4',
          [a.tierId, s.window, a.subject, s.startMin],
        );
        used.push(rows[0] ? Number(rows[0].used) : 0);
      }
      response = a.build({ ok: false, used });
    } catch (error) {
      throw unavailable(error);
    }
    return a.requestId
      ? this.remember({
          requestId: a.requestId,
          fingerprint: a.fingerprint,
          response,
          expiresAt: a.requestExpiresAt,
          now: a.now,
        })
      : response;
  }

  async refund(r: TRefundAttempt): Promise<boolean> {
    try {
      return await this.raw.transaction(async (query) => {
        const inserted = await query(
          'INSERT INTO "RefundedTicket" ("nonce","refundedAt","expiresAt") VALUES ($1, now(), $2) ON CONFLICT DO NOTHING RETURNING "nonce"',
          [r.nonce, r.expiresAt],
        );
        if (inserted.length === 0) return false;
        for (const [window, startMin] of r.windows) {
          if (windowResetMs(window, startMin) <= r.now.getTime()) continue;
          await query(
            'UPDATE "QuotaCounter" SET "used" = GREATEST(0, "used" - $5) WHERE "tierId" = $1 AND "window" = $2 AND "subject" = $3 AND "windowStartMin" = $4',
            [r.tierId, window, r.subject, startMin, r.cost],
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
