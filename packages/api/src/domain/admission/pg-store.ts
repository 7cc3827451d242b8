import type { TDb, TDbTx } from '@coolant/db';
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

/**
 * Counters in PostgreSQL, shared by every console instance. One transaction
 * per consume: a conditional upsert per limit (`used + cost <= limit`), in a
 * fixed order so two consumes cannot deadlock; if any limit refuses, the
 * transaction rolls back and nothing was consumed.
 */
export class PgAdmissionStore implements TAdmissionStore {
  readonly kind = 'postgresql' as const;

  constructor(private readonly db: TDb) {}

  async start(): Promise<void> {}

  async lookup(requestId: string): Promise<TConsumeResponse | null> {
    try {
      const row = await this.db.admissionRequest.findUnique({ where: { requestId } });
      return row && row.expiresAt > new Date() ? (JSON.parse(row.response) as TConsumeResponse) : null;
    } catch (error) {
      throw unavailable(error);
    }
  }

  async remember(requestId: string, response: TConsumeResponse, expiresAt: Date): Promise<void> {
    try {
      await this.db.$executeRawUnsafe(
        'INSERT INTO "AdmissionRequest" ("requestId","response","createdAt","expiresAt") VALUES ($1,$2,now(),$3) ON CONFLICT DO NOTHING',
        requestId,
        JSON.stringify(response),
        expiresAt,
      );
    } catch (error) {
      throw unavailable(error);
    }
  }

  async consume(a: TConsumeAttempt): Promise<TConsumeResponse> {
    const order = a.slots.map((s, i) => ({ s, i })).sort((x, y) => x.s.window.localeCompare(y.s.window));
    try {
      return await this.db.$transaction(
        async (tx) => {
          if (a.requestId) {
            // Serializes retries of one request across instances; the loser then finds the answer.
            await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', a.requestId);
            const prior = await tx.admissionRequest.findUnique({ where: { requestId: a.requestId } });
            if (prior) return JSON.parse(prior.response) as TConsumeResponse;
          }
          const used: number[] = new Array(a.slots.length).fill(0);
          for (const { s, i } of order) {
            const rows = await tx.$queryRawUnsafe<{ used: number }[]>(
              `INSERT INTO "QuotaCounter" ("tierId","window","subject","windowStartMin","used") VALUES ($1,$2,$3,$4,$5)
               ON CONFLICT ("tierId","window","subject","windowStartMin") DO UPDATE SET "used" = "QuotaCounter"."used" + excluded."used"
               WHERE "QuotaCounter"."used" + excluded."used" <= $6
               RETURNING "used"`,
              a.tierId,
              s.window,
              a.subject,
              s.startMin,
              a.cost,
              s.limit,
            );
            if (rows.length === 0) throw new Refused();
            used[i] = Number(rows[0]!.used);
          }
          const response = a.build({ ok: true, used });
          if (a.requestId) {
            await tx.admissionRequest.create({ data: { requestId: a.requestId, response: JSON.stringify(response), expiresAt: a.requestExpiresAt } });
          }
          return response;
        },
        { maxWait: 30_000, timeout: 30_000 },
      );
    } catch (error) {
      if (!(error instanceof Refused)) throw unavailable(error);
    }
    // Read after the rollback, so the answer shows what is really spent.
    let used: number[];
    try {
      used = await this.currentUsed(this.db, a);
    } catch (error) {
      throw unavailable(error);
    }
    const response = a.build({ ok: false, used });
    if (a.requestId) await this.remember(a.requestId, response, a.requestExpiresAt);
    return response;
  }

  private async currentUsed(tx: TDb | TDbTx, a: TConsumeAttempt): Promise<number[]> {
    const out: number[] = [];
    for (const s of a.slots) {
      const row = await tx.quotaCounter.findUnique({
        where: { tierId_window_subject_windowStartMin: { tierId: a.tierId, window: s.window, subject: a.subject, windowStartMin: s.startMin } },
      });
      out.push(row?.used ?? 0);
    }
    return out;
  }

  async refund(r: TRefundAttempt): Promise<boolean> {
    try {
      return await this.db.$transaction(async (tx) => {
        const inserted = await tx.$executeRawUnsafe(
          'INSERT INTO "RefundedTicket" ("nonce","refundedAt","expiresAt") VALUES ($1, now(), $2) ON CONFLICT DO NOTHING',
          r.nonce,
          r.expiresAt,
        );
        if (inserted === 0) return false;
        for (const [window, startMin] of r.windows) {
          if (windowResetMs(window, startMin) <= r.now.getTime()) continue;
          await tx.$executeRawUnsafe(
            'UPDATE "QuotaCounter" SET "used" = GREATEST(0, "used" - $5) WHERE "tierId" = $1 AND "window" = $2 AND "subject" = $3 AND "windowStartMin" = $4',
            r.tierId,
            window,
            r.subject,
            startMin,
            r.cost,
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
