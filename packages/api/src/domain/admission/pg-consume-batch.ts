/**
 * One batch of consumes on PostgreSQL in one statement (two and a transaction only when needed).
 * Why: a transaction per consume cost ~7 round trips (BEGIN, upsert per limit, COMMIT, and for a
 * requestId a lock, a read and an insert) and kept the console waiting on the database. Here every
 * row of the batch travels as one array per column (UNNEST: a fixed statement text, so it is
 * prepared once per connection), and one statement claims the requestIds, applies each limit's
 * conditional increment (`used + cost <= limit`, checked on the latest row version under its row
 * lock) and reads what a refused limit holds. The batcher gives a batch at most one attempt per
 * counter and per requestId, and rows are locked in key order (requestIds, then counters), so two
 * consoles batching the same counters wait for each other instead of deadlocking.
 *
 * A batch whose attempts each have one limit and no requestId is that one statement in autocommit:
 * nothing can be half-applied. Otherwise it runs in a transaction, and a second statement takes
 * back the increments of an attempt that another of its limits refused (all or nothing), records
 * the answers under the claimed requestIds and reads the answers of requestIds that another
 * instance had already claimed (a new statement sees what committed while the claim waited).
 * Tier-scope limits (one row that every consume of the tier shares) are decided around this
 * statement, in the same transaction: see pg-tier-counters.ts.
 */
import type { TPgQuery, TPgRaw, TRawRow } from '@coolant/db';
import { assertSameRequest } from './idempotency';
import { admitOnTierRows, lockTierRows, tierRowsOf, type TCounterChange } from './pg-tier-counters';
import type { TConsumeAttempt, TConsumeResponse } from './types';

export type TBatchItem = {
  a: TConsumeAttempt;
  resolve(r: TConsumeResponse): void;
  reject(e: unknown): void;
};

const SLOTS = `slot AS (SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[])
  WITH ORDINALITY AS s(a, tier, win, subj, start, cost, lim, ord))`;
const CLAIM = `req AS (SELECT * FROM unnest($8::int[], $9::text[], $10::text[], $11::timestamp(3)[]) WITH ORDINALITY AS r(a, id, fp, exp, ord)),
claim AS (INSERT INTO "AdmissionRequest" ("requestId","fingerprint","response","createdAt","expiresAt")
  SELECT id, fp, '', $12::timestamp(3), exp FROM req ORDER BY ord
  ON CONFLICT ("requestId") DO UPDATE SET "fingerprint" = excluded."fingerprint", "response" = excluded."response",
    "createdAt" = excluded."createdAt", "expiresAt" = excluded."expiresAt"
  WHERE "AdmissionRequest"."expiresAt" <= excluded."createdAt"
  RETURNING "requestId"),
blocked AS (SELECT a FROM req WHERE id NOT IN (SELECT "requestId" FROM claim))`;
const KEY_MATCH = (t: string, s: string) =>
  `${t}."tierId" = ${s}.tier AND ${t}."window" = ${s}.win AND ${t}."subject" = ${s}.subj AND ${t}."windowStartMin" = ${s}.start`;
const UPSERT = (
  filter: string,
) => `up AS (INSERT INTO "QuotaCounter" ("tierId","window","subject","windowStartMin","used")
  SELECT tier, win, subj, start, cost FROM slot ${filter} ORDER BY ord
  ON CONFLICT ("tierId","window","subject","windowStartMin") DO UPDATE SET "used" = "QuotaCounter"."used" + excluded."used"
  WHERE "QuotaCounter"."used" + excluded."used" <= (SELECT l.lim FROM slot l WHERE ${KEY_MATCH('excluded', 'l')})
  RETURNING "tierId","window","subject","windowStartMin","used")`;
// A row per slot, and with requestIds a row per attempt whose id was taken (blocked: its index),
// so an attempt with no subject slot (tier-scope limits only) is known to be blocked as well.
const OUTCOME = `SELECT s.ord, NULL::int AS blocked, u."used" AS after, q."used" AS before FROM slot s
LEFT JOIN up u ON ${KEY_MATCH('u', 's')}
LEFT JOIN "QuotaCounter" q ON ${KEY_MATCH('q', 's')}`;

/** Counters only (no requestId in the batch). */
const CONSUME_SQL = `WITH ${SLOTS},\n${UPSERT('')}\n${OUTCOME}`;
/** Claims the batch's requestIds first; an attempt whose id is taken consumes nothing. */
const CONSUME_REQ_SQL = `WITH ${SLOTS},\n${CLAIM},\n${UPSERT('WHERE a NOT IN (SELECT a FROM blocked)')}\n${OUTCOME}
UNION ALL SELECT NULL, a, NULL, NULL FROM blocked`;
// comp: increments taken back (a negative one adds: a tier row's admitted sum).
const SETTLE_SQL = `WITH comp AS (UPDATE "QuotaCounter" q SET "used" = q."used" - c.cost
  FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[]) AS c(tier, win, subj, start, cost)
  WHERE ${KEY_MATCH('q', 'c')} RETURNING 1),
resp AS (UPDATE "AdmissionRequest" r SET "response" = x.resp FROM unnest($6::text[], $7::text[]) AS x(id, resp)
  WHERE r."requestId" = x.id RETURNING 1)
SELECT "requestId","response","fingerprint" FROM "AdmissionRequest" WHERE "requestId" = ANY($8::text[]) AND "expiresAt" > $9::timestamp(3)`;

type TSlotRow = { item: number; slot: number; key: string };

const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

export function slotKey(tierId: string, window: string, subject: string, startMin: number): string {
  return `${tierId}\u0000${window}\u0000${subject}\u0000${startMin}`;
}

/**
 * Runs the batch and settles every item: its answer after the commit, CONFLICT for a requestId
 * first used for another request; a database error rejects them all (nothing was committed).
 */
export async function runConsumeBatch(raw: TPgRaw, items: TBatchItem[]): Promise<void> {
  const rows: TSlotRow[] = [];
  items.forEach((it, item) =>
    it.a.slots.forEach((s, slot) => {
      if (s.scope !== 'tier') rows.push({ item, slot, key: slotKey(it.a.tierId, s.window, it.a.subject, s.startMin) });
    }),
  );
  const tierRows = tierRowsOf(items.map((it) => it.a));
  rows.sort((x, y) => cmp(x.key, y.key));
  const reqs = items.map((it, item) => ({ item, id: it.a.requestId })).filter((r) => r.id !== null);
  reqs.sort((x, y) => cmp(x.id!, y.id!));
  const now = items[0]!.a.now.toISOString();
  const params: unknown[] = [
    rows.map((r) => r.item),
    rows.map((r) => items[r.item]!.a.tierId),
    rows.map((r) => items[r.item]!.a.slots[r.slot]!.window),
    rows.map((r) => items[r.item]!.a.subject),
    rows.map((r) => items[r.item]!.a.slots[r.slot]!.startMin),
    rows.map((r) => items[r.item]!.a.cost),
    rows.map((r) => items[r.item]!.a.slots[r.slot]!.limit),
  ];
  if (reqs.length > 0) {
    params.push(
      reqs.map((r) => r.item),
      reqs.map((r) => r.id),
      reqs.map((r) => items[r.item]!.a.fingerprint),
      reqs.map((r) => items[r.item]!.a.requestExpiresAt.toISOString()),
      now,
    );
  }
  const simple = !tierRows && reqs.length === 0 && items.every((it) => it.a.slots.length === 1);
  const decide = async (query: TPgQuery): Promise<(() => void)[]> => {
    // Tier rows first: see pg-tier-counters.ts for the lock order.
    const tier = tierRows && { rows: tierRows, locked: await lockTierRows(query, tierRows) };
    const out =
      reqs.length > 0
        ? await query(CONSUME_REQ_SQL, params, 'coolant_admission_consume_req')
        : rows.length > 0
          ? await query(CONSUME_SQL, params, 'coolant_admission_consume')
          : [];
    return settle({ query, items, rows, out, now, simple, tier });
  };
  let answers: (() => void)[];
  try {
    answers = await withRetry(() => (simple ? decide(raw.query) : raw.transaction(decide)));
  } catch (error) {
    for (const it of items) it.reject(error);
    return;
  }
  // Only now, after the commit, is anything answered.
  for (const answer of answers) answer();
}

/** Deadlocks (two instances claiming one requestId while batching its counters) are retried. */
async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 3 || (code !== '40P01' && code !== '40001')) throw error;
    }
  }
}

async function settle(req: {
  query: TPgQuery;
  items: TBatchItem[];
  rows: TSlotRow[];
  out: TRawRow[];
  now: string;
  simple: boolean;
  tier: Pick<Parameters<typeof admitOnTierRows>[0], 'rows' | 'locked'> | null;
}): Promise<(() => void)[]> {
  const { query, items, rows, out, now, simple } = req;
  const after: (number | null)[][] = items.map((it) => it.a.slots.map(() => null));
  const before: number[][] = items.map((it) => it.a.slots.map(() => 0));
  const blocked = new Set<number>();
  for (const o of out) {
    if (o.blocked !== null) {
      blocked.add(Number(o.blocked));
      continue;
    }
    const r = rows[Number(o.ord) - 1]!;
    after[r.item]![r.slot] = o.after === null ? null : Number(o.after);
    before[r.item]![r.slot] = o.before === null ? 0 : Number(o.before);
  }
  // Subject limits decided by the statement; the tier's (if any) here, on the locked rows.
  const subjectOk = items.map((it, item) =>
    blocked.has(item) ? null : it.a.slots.every((s, i) => s.scope === 'tier' || after[item]![i] !== null),
  );
  const tierUsed: (number | null)[][] = items.map((it) => it.a.slots.map(() => null));
  const tier =
    req.tier && admitOnTierRows({ ...req.tier, attempts: items.map((it) => it.a), subjectOk, used: tierUsed });
  const comp: TCounterChange[] = tier?.changes ?? [];
  const responses: { id: string; response: TConsumeResponse }[] = [];
  const answers: (() => void)[] = [];
  items.forEach((it, item) => {
    if (blocked.has(item)) return;
    const a = it.a;
    const ok = tier ? tier.ok[item]! : subjectOk[item]!;
    const used = a.slots.map((s, i) => {
      if (s.scope === 'tier') return tierUsed[item]![i]!;
      const v = after[item]![i]!;
      if (ok) return v;
      if (v !== null) return v - a.cost;
      // Refused on the row's latest version, which holds more than limit - cost; the value read
      // beside it is the statement's snapshot and may be older, so it is raised to agree.
      return Math.max(before[item]![i]!, s.limit - a.cost + 1);
    });
    if (!ok)
      a.slots.forEach((s, i) => {
        if (s.scope !== 'tier' && after[item]![i] !== null)
          comp.push({ tierId: a.tierId, window: s.window, subject: a.subject, startMin: s.startMin, minus: a.cost });
      });
    const response = a.build({ ok, used });
    if (a.requestId) responses.push({ id: a.requestId, response });
    answers.push(() => it.resolve(response));
  });
  if (simple) return answers;
  const waiting = items.filter((_, item) => blocked.has(item));
  if (comp.length === 0 && responses.length === 0 && waiting.length === 0) return answers;
  const priors = await query(
    SETTLE_SQL,
    [
      comp.map((c) => c.tierId),
      comp.map((c) => c.window),
      comp.map((c) => c.subject),
      comp.map((c) => c.startMin),
      comp.map((c) => c.minus),
      responses.map((r) => r.id),
      responses.map((r) => JSON.stringify(r.response)),
      waiting.map((it) => it.a.requestId),
      now,
    ],
    'coolant_admission_settle',
  );
  const byId = new Map(priors.map((p) => [String(p.requestId), p]));
  for (const it of waiting) {
    const id = it.a.requestId!;
    const prior = byId.get(id);
    answers.push(() => {
      if (!prior) return it.reject(new Error(`AdmissionRequest ${id} neither claimed nor found`));
      try {
        assertSameRequest(id, String(prior.fingerprint), it.a.fingerprint);
        it.resolve(JSON.parse(String(prior.response)) as TConsumeResponse);
      } catch (error) {
        it.reject(error);
      }
    });
  }
  return answers;
}
