import type { TDb, TPgQuery, TPgRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import type { TAdmissionStore, TConsumeAttempt, TConsumeResponse, TRefundAttempt } from './types';
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

  async lookup(requestId: string): Promise<TConsumeResponse | null> {
    try {
      const rows = await this.raw.query('SELECT "response" FROM "AdmissionRequest" WHERE "requestId" = $1 AND "expiresAt" > now()', [requestId]);
      return rows[0] ? (JSON.parse(String(rows[0].response)) as TConsumeResponse) : null;
    } catch (error) {
      throw unavailable(error);
    }
  }

  private async insertRequest(query: TPgQuery, requestId: string, response: TConsumeResponse, expiresAt: Date): Promise<void> {
    await query('INSERT INTO "AdmissionRequest" ("requestId","response","createdAt","expiresAt") VALUES ($1,$2,now(),$3) ON CONFLICT DO NOTHING', [
      requestId,
      JSON.stringify(response),
      expiresAt,
    ]);
  }

  async remember(requestId: string, response: TConsumeResponse, expiresAt: Date): Promise<void> {
    try {
      await this.insertRequest(this.raw.query, requestId, response, expiresAt);
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
          const prior = await query('SELECT "response" FROM "AdmissionRequest" WHERE "requestId" = $1', [a.requestId]);
          if (prior[0]) return JSON.parse(String(prior[0].response)) as TConsumeResponse;
        }
        const used: number[] = new Array(a.slots.length).fill(0);
        for (const { s, i } of order) {
          const rows = await query(CONSUME_SQL, [a.tierId, s.window, a.subject, s.startMin, a.cost, s.limit]);
          if (rows.length === 0) throw new Refused();
          used[i] = Number(rows[0]!.used);
        }
        const response = a.build({ ok: true, used });
        if (a.requestId) await this.insertRequest(query, a.requestId, response, a.requestExpiresAt);
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
    if (a.requestId) await this.remember(a.requestId, response, a.requestExpiresAt);
    return response;
  }

  async refund(r: TRefundAttempt): Promise<boolean> {
    try {
      return await this.raw.transaction(async (query) => {
        const inserted = await query('INSERT INTO "RefundedTicket" ("nonce","refundedAt","expiresAt") VALUES ($1, now(), $2) ON CONFLICT DO NOTHING RETURNING "nonce"', [
          r.nonce,
          r.expiresAt,
        ]);
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
      counters += (await this.db.quotaCounter.deleteMany({ where: { window, windowStartMin: { lt: windowStartMin(window, now.getTime()) } } })).count;
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
