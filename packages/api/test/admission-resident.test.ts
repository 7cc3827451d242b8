// The SQLite admission store keeps only a bounded set of counters (and requestId answers) in memory
// and reads the rest from the table. These run it with a capacity of one or two entries, so nearly
// every decision meets an evicted counter, and check that the answers stay exact: concurrent
// consumes in one batch, refunds of evicted counters, a restarted store, a failed commit, requestIds.
import { openRawSql, type TSqliteRaw } from '@coolant/db';
import { createTestDb, type TTestDb } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAdmissionStore } from '../src/domain/admission/memory-store';
import type { TConsumeAttempt, TConsumeResponse, TStoreOutcome } from '../src/domain/admission/types';
import { windowResetMs, windowStartMin } from '../src/domain/admission/windows';

const NOW = new Date('2026-11-27T10:00:00Z');
const START = windowStartMin('day', NOW.getTime());

/** The store's outcome, as a response (AdmissionService builds the real one). */
const asResponse = (o: TStoreOutcome) =>
  ({ allowed: o.ok, used: o.used }) as unknown as TConsumeResponse & { used: number[] };

function attempt(subject: string, limit: number, extra: Partial<TConsumeAttempt> = {}): TConsumeAttempt {
  return {
    tierId: 'tier-r',
    tierName: 'r',
    subject,
    cost: 1,
    slots: [
      { window: 'day', scope: 'subject', startMin: START, limit, resetMs: windowResetMs('day', START), source: 'base' },
    ],
    requestId: null,
    fingerprint: '',
    requestExpiresAt: new Date(NOW.getTime() + 3_600_000),
    now: NOW,
    build: asResponse,
    ...extra,
  };
}

describe('admission store with a tiny resident set (sqlite)', () => {
  let t: TTestDb;
  let raw: TSqliteRaw;
  const stores: MemoryAdmissionStore[] = [];
  const store = (residentCounters: number, residentRequests = 2, foldRows = 64) => {
    const s = new MemoryAdmissionStore(t.db, raw, { residentCounters, residentRequests, foldRows });
    stores.push(s);
    return s;
  };
  // What the database holds for the counter: its QuotaCounter row plus its deltas not folded yet.
  const tableUsed = async (subject: string) => {
    const folded = (await t.db.quotaCounter.findFirst({ where: { tierId: 'tier-r', subject } }))?.used ?? 0;
    const unfolded =
      (await t.db.quotaDelta.aggregate({ where: { tierId: 'tier-r', subject }, _sum: { delta: true } }))._sum.delta ??
      0;
    return folded + unfolded;
  };

  beforeAll(async () => {
    t = await createTestDb('sqlite');
    raw = openRawSql(t.config) as TSqliteRaw;
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    raw.close();
    await t.cleanup();
  });

  it('consumes in one batch for more subjects than fit in memory admit exactly the limit each', async () => {
    const s = store(1);
    // Interleaved in one tick: each subject's counter is pushed out by the next subject's read
    // before its batch has committed, so it must stay resident until it has.
    const subjects = Array.from({ length: 40 }, (_, i) => `race-${i % 8}`);
    const results = await Promise.all([...subjects, ...subjects].map((subject) => s.consume(attempt(subject, 3))));
    expect(results.filter((r) => r.allowed)).toHaveLength(8 * 3);
    for (let i = 0; i < 8; i++) expect(await tableUsed(`race-${i}`)).toBe(3);
    // Once their deltas are folded into QuotaCounter, the counters may go.
    await s.settle();
    expect(s.resident().counters).toBe(1);
  });

  it('memory stays bounded over 5,000 subjects, and an evicted counter is read back exactly', async () => {
    const s = store(2);
    for (let wave = 0; wave < 5; wave++) {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => s.consume(attempt(`many-${wave * 1000 + i}`, 2))));
      // Under load: the bound plus the counters whose deltas are not folded yet (fewer than one fold's rows).
      expect(s.resident().counters).toBeLessThan(2 + 64);
    }
    await s.settle();
    expect(s.resident().counters).toBeLessThanOrEqual(2);
    expect(((await s.consume(attempt('many-7', 2))) as unknown as { used: number[] }).used).toEqual([2]);
    expect((await s.consume(attempt('many-7', 2))).allowed).toBe(false);
  });

  it('a refund of an evicted counter gives the unit back', async () => {
    const s = store(1);
    await s.consume(attempt('refund-a', 2));
    await s.consume(attempt('refund-a', 2));
    await s.consume(attempt('refund-other', 2));
    expect(
      await s.refund({
        nonce: 'n-refund-a',
        expiresAt: new Date(NOW.getTime() + 86_400_000),
        tierId: 'tier-r',
        subject: 'refund-a',
        cost: 1,
        windows: [['day', START]],
        now: NOW,
      }),
    ).toBe(true);
    expect(await tableUsed('refund-a')).toBe(1);
    expect((await s.consume(attempt('refund-a', 2))).allowed).toBe(true);
    expect((await s.consume(attempt('refund-a', 2))).allowed).toBe(false);
  });

  it('a new store over the same file starts from the table, loading nothing up front', async () => {
    const a = store(4);
    for (let i = 0; i < 3; i++) await a.consume(attempt('restart', 3));
    await a.close();
    const b = store(4);
    await b.start(NOW);
    expect(b.resident().counters).toBe(0);
    expect((await b.consume(attempt('restart', 3))).allowed).toBe(false);
  });

  it('a failed commit takes its increments back even when they were pushed past the bound', async () => {
    const s = store(1);
    await s.consume(attempt('fail-a', 5));
    raw.exec(
      `CREATE TRIGGER "refuse_counters" BEFORE INSERT ON "QuotaDelta" BEGIN SELECT RAISE(ABORT, 'refused (test)'); END`,
    );
    try {
      const failed = await Promise.allSettled(
        ['fail-a', 'fail-b', 'fail-a'].map((subject) => s.consume(attempt(subject, 5))),
      );
      expect(failed.every((r) => r.status === 'rejected')).toBe(true);
    } finally {
      raw.exec('DROP TRIGGER "refuse_counters"');
    }
    expect(((await s.consume(attempt('fail-a', 5))) as unknown as { used: number[] }).used).toEqual([2]);
    expect(await tableUsed('fail-a')).toBe(2);
  });

  it('requestId answers pushed out of memory are read from the table, expired ones are not', async () => {
    const s = store(2, 2);
    for (let i = 0; i < 10; i++) {
      await s.consume(
        attempt(`req-${i}`, 5, {
          requestId: `rid-${i}`,
          fingerprint: `fp-${i}`,
          requestExpiresAt: new Date(NOW.getTime() + (i === 1 ? 1_000 : 3_600_000)),
        }),
      );
    }
    expect(s.resident().requests).toBeLessThanOrEqual(2);
    expect(await s.lookup('rid-0', NOW)).toEqual({ response: { allowed: true, used: [1] }, fingerprint: 'fp-0' });
    expect(await s.lookup('rid-1', new Date(NOW.getTime() + 2_000))).toBeNull();
    expect(await s.lookup('rid-unknown', NOW)).toBeNull();
  });
});
