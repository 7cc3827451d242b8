// The PostgreSQL admission store decides consumes in batches (pg-batcher.ts, pg-consume-batch.ts):
// these hold it to one statement per batch, to all-or-nothing across limits, and to exact counts
// and one answer per requestId when two consoles' stores batch the same counters at once.
import { openRawSql, type TPgRaw } from '@coolant/db';
import { createTestDb, TEST_PROVIDERS, type TTestDb } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/lib/app-error';
import { requestFingerprint } from '../src/domain/admission/idempotency';
import { PgAdmissionStore } from '../src/domain/admission/pg-store';
import type { TConsumeAttempt, TConsumeResponse, TLimitSlot } from '../src/domain/admission/types';
import { windowResetMs, windowStartMin, type TWindow } from '../src/domain/admission/windows';

const NOW = new Date(Date.UTC(2026, 11, 1, 12, 0, 30));

function slots(limits: Partial<Record<TWindow, number>>): TLimitSlot[] {
  return Object.entries(limits).map(([w, limit]) => {
    const window = w as TWindow;
    const startMin = windowStartMin(window, NOW.getTime());
    return {
      window,
      scope: 'subject',
      startMin,
      limit: limit!,
      resetMs: windowResetMs(window, startMin),
      source: 'base',
    };
  });
}

/** An attempt whose answer carries the outcome: `remaining` holds the used values, joined. */
function attempt(tierId: string, subject: string, sl: TLimitSlot[], requestId: string | null = null): TConsumeAttempt {
  return {
    tierId,
    tierName: tierId,
    subject,
    cost: 1,
    slots: sl,
    requestId,
    fingerprint: requestId ? requestFingerprint({ tier: tierId, subject, cost: 1 }) : '',
    requestExpiresAt: new Date(NOW.getTime() + 3_600_000),
    now: NOW,
    build: (o): TConsumeResponse => ({
      allowed: o.ok,
      reason: o.ok ? 'ok' : 'quota_exceeded',
      tier: tierId,
      limit: null,
      remaining: null,
      window: null,
      resetAt: o.used.join(','),
      retryAfterSeconds: null,
      ticket: o.ok ? `${subject}-${Math.random()}` : null,
      policies: [],
      pauseReason: null,
      configVersion: 1,
    }),
  };
}

/** The raw connection with a count of the statements sent through it. */
function counted(raw: TPgRaw): { raw: TPgRaw; statements: () => number } {
  let n = 0;
  return {
    raw: {
      ...raw,
      query: (sql, params, name) => (n++, raw.query(sql, params, name)),
      transaction: (fn) => raw.transaction((q) => fn((sql, params, name) => (n++, q(sql, params, name)))),
    },
    statements: () => n,
  };
}

describe.runIf(TEST_PROVIDERS.includes('postgresql'))('admission store batches on PostgreSQL', () => {
  let t: TTestDb;
  let rawA: TPgRaw;
  let rawB: TPgRaw;

  beforeAll(async () => {
    t = await createTestDb('postgresql');
    rawA = openRawSql(t.config) as TPgRaw;
    rawB = openRawSql(t.config) as TPgRaw;
  });
  afterAll(async () => {
    await rawA?.close();
    await rawB?.close();
    await t?.cleanup();
  });

  const used = async (tierId: string, subject: string) =>
    Object.fromEntries(
      (await t.db.quotaCounter.findMany({ where: { tierId, subject } })).map((c) => [c.window, c.used]),
    );

  it('200 concurrent consumes of distinct subjects take a handful of statements, not several each', async () => {
    const c = counted(rawA);
    const store = new PgAdmissionStore(t.db, c.raw);
    const sl = slots({ day: 10 });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.consume(attempt('one', `s${i}`, sl))),
    );
    expect(answers.every((a) => a.allowed && a.resetAt === '1')).toBe(true);
    expect(c.statements()).toBeLessThanOrEqual(20);
    expect(await t.db.quotaCounter.aggregate({ where: { tierId: 'one' }, _sum: { used: true } })).toEqual({
      _sum: { used: 200 },
    });
  });

  it('200 concurrent consumes with distinct requestIds: lookups and decisions both batched; a retry gets the first answer', async () => {
    const c = counted(rawA);
    const store = new PgAdmissionStore(t.db, c.raw);
    const sl = slots({ day: 10 });
    const once = (i: number) =>
      store
        .lookup(`look-${i}`, NOW)
        .then((prior) => prior?.response ?? store.consume(attempt('look', `s${i}`, sl, `look-${i}`)));
    const first = await Promise.all(Array.from({ length: 200 }, (_, i) => once(i)));
    expect(first.every((a) => a.allowed)).toBe(true);
    // Old code: a lookup, then BEGIN, lock, read, upsert, insert, COMMIT per consume (1,400 here).
    expect(c.statements()).toBeLessThanOrEqual(40);
    const again = await Promise.all(Array.from({ length: 200 }, (_, i) => once(i)));
    expect(again.map((a) => a.ticket)).toEqual(first.map((a) => a.ticket));
    expect(await t.db.quotaCounter.aggregate({ where: { tierId: 'look' }, _sum: { used: true } })).toEqual({
      _sum: { used: 200 },
    });
    expect(await store.lookup('look-0', new Date(NOW.getTime() + 7_200_000))).toBeNull();
  });

  it('two stores batching the same subjects under three limits, in opposite orders, admit exactly the tightest limit and take back the rest', async () => {
    const a = new PgAdmissionStore(t.db, rawA);
    const b = new PgAdmissionStore(t.db, rawB);
    // The minute limit binds; hour and day must end at what was admitted, not at what was tried.
    const sl = slots({ minute: 3, hour: 5, day: 7 });
    const subjects = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const tries = subjects.flatMap((s) => Array.from({ length: 6 }, () => s));
    const answers = await Promise.all([
      ...tries.map((s) => a.consume(attempt('multi', s, sl))),
      ...[...tries].reverse().map((s) => b.consume(attempt('multi', s, sl))),
    ]);
    expect(answers.filter((r) => r.allowed)).toHaveLength(subjects.length * 3);
    for (const s of subjects) expect(await used('multi', s)).toEqual({ minute: 3, hour: 3, day: 3 });
    // A refusal reports the binding counter as full.
    for (const r of answers.filter((x) => !x.allowed)) expect(r.resetAt).toBe('3,3,3');
  });

  it('one requestId sent to both stores at once, among consumes of the same counter, is consumed once and answered alike; another body under it is a CONFLICT', async () => {
    const a = new PgAdmissionStore(t.db, rawA);
    const b = new PgAdmissionStore(t.db, rawB);
    const sl = slots({ minute: 100, day: 100 });
    const ids = Array.from({ length: 30 }, (_, i) => `req-${i}`);
    const answers = await Promise.all([
      ...ids.map((id) => a.consume(attempt('idem', 'u', sl, id))),
      ...ids.map((id) => b.consume(attempt('idem', 'u', sl, id))),
      ...Array.from({ length: 10 }, () => b.consume(attempt('idem', 'u', sl))),
    ]);
    for (let i = 0; i < ids.length; i++) expect(answers[i]!.ticket).toBe(answers[i + ids.length]!.ticket);
    expect(await used('idem', 'u')).toEqual({ minute: 40, day: 40 });
    const stored = await t.db.admissionRequest.findUniqueOrThrow({ where: { requestId: 'req-0' } });
    expect((JSON.parse(stored.response) as TConsumeResponse).ticket).toBe(answers[0]!.ticket);
    const conflict = await a.consume(attempt('idem', 'someone else', sl, 'req-0')).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(AppError);
    expect((conflict as AppError).code).toBe('CONFLICT');
    expect(await used('idem', 'someone else')).toEqual({});
  });

  it('a database error fails the whole batch as unavailable and counts nothing', async () => {
    const store = new PgAdmissionStore(t.db, rawA);
    await t.db.$executeRawUnsafe('ALTER TABLE "QuotaCounter" RENAME TO "QuotaCounterGone"');
    let errors: unknown[];
    try {
      const sl = slots({ minute: 5, day: 5 });
      errors = await Promise.all(
        Array.from({ length: 5 }, (_, i) => store.consume(attempt('gone', `g${i}`, sl)).catch((e: unknown) => e)),
      );
    } finally {
      await t.db.$executeRawUnsafe('ALTER TABLE "QuotaCounterGone" RENAME TO "QuotaCounter"');
    }
    for (const e of errors) expect((e as AppError).code).toBe('UNAVAILABLE');
    expect(await t.db.quotaCounter.count({ where: { tierId: 'gone' } })).toBe(0);
    // The prepared statements survive the table coming back.
    expect((await store.consume(attempt('gone', 'g0', slots({ day: 5 })))).allowed).toBe(true);
  });
});
