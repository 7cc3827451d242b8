// The SQLite admission store appends each batch's increments to QuotaDelta and folds them into
// QuotaCounter later, in chunks. These hold it to exact counts across what can happen in between:
// a process that stops before folding (the next one replays), a fold that fails between its insert
// and its delete (one transaction: nothing counted twice, nothing lost), folds running while
// consumes arrive, refunds as negative deltas, and pruning of ended windows.
import { openRawSql, type TSqliteRaw } from '@coolant/db';
import { createTestDb, type TTestDb } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAdmissionStore } from '../src/domain/admission/memory-store';
import type { TConsumeAttempt, TConsumeResponse, TStoreOutcome } from '../src/domain/admission/types';
import { windowResetMs, windowStartMin } from '../src/domain/admission/windows';

const NOW = new Date('2026-11-27T10:00:00Z');
const START = windowStartMin('day', NOW.getTime());
const asResponse = (o: TStoreOutcome) =>
  ({ allowed: o.ok, used: o.used }) as unknown as TConsumeResponse & { used: number[] };

function attempt(subject: string, limit: number, cost = 1): TConsumeAttempt {
  return {
    tierId: 'tier-d',
    tierName: 'd',
    subject,
    cost,
    slots: [
      { window: 'day', scope: 'subject', startMin: START, limit, resetMs: windowResetMs('day', START), source: 'base' },
    ],
    requestId: null,
    fingerprint: '',
    requestExpiresAt: new Date(NOW.getTime() + 3_600_000),
    now: NOW,
    build: asResponse,
  };
}

const refundOf = (subject: string, nonce: string, cost = 1) => ({
  nonce,
  expiresAt: new Date(NOW.getTime() + 86_400_000),
  tierId: 'tier-d',
  subject,
  cost,
  windows: [['day', START]] as [['day', number]],
  now: NOW,
});

describe('admission deltas: fold and replay (sqlite)', () => {
  let t: TTestDb;
  let raw: TSqliteRaw;
  const closers: (() => Promise<void>)[] = [];
  /** A store that never folds by itself: it stands for a process that stops before its next fold. */
  const unfolding = (residentCounters = 1) =>
    new MemoryAdmissionStore(t.db, raw, { residentCounters, foldRows: 1e9, foldIdleMs: 1e9 });
  const store = (foldRows: number, residentCounters = 4) => {
    const s = new MemoryAdmissionStore(t.db, raw, { residentCounters, foldRows });
    closers.push(() => s.close());
    return s;
  };
  const folded = async (subject: string) =>
    (await t.db.quotaCounter.findFirst({ where: { tierId: 'tier-d', subject } }))?.used ?? 0;
  const unfolded = async (subject: string) =>
    (await t.db.quotaDelta.aggregate({ where: { tierId: 'tier-d', subject }, _sum: { delta: true } }))._sum.delta ?? 0;
  const allowedOf = async (s: MemoryAdmissionStore, subject: string, limit: number, tries: number) =>
    (await Promise.all(Array.from({ length: tries }, () => s.consume(attempt(subject, limit))))).filter(
      (r) => r.allowed,
    ).length;

  beforeAll(async () => {
    t = await createTestDb('sqlite');
    raw = openRawSql(t.config) as TSqliteRaw;
  });
  afterAll(async () => {
    for (const c of closers) await c();
    raw.close();
    await t.cleanup();
  });

  it('a process that stopped before folding: the next store replays the deltas and counts exactly', async () => {
    const a = unfolding();
    for (let i = 0; i < 4; i++) expect(await allowedOf(a, `crash-${i}`, 5, 3)).toBe(3);
    expect(await folded('crash-0')).toBe(0);
    expect(await unfolded('crash-0')).toBe(3);
    // a is abandoned, not closed (close would fold): b opens the same file.
    const b = store(64, 1);
    await b.start(NOW);
    expect(await t.db.quotaDelta.count()).toBe(0);
    for (let i = 0; i < 4; i++) expect(await folded(`crash-${i}`)).toBe(3);
    for (let i = 0; i < 4; i++) expect(await allowedOf(b, `crash-${i}`, 5, 10)).toBe(2);
  });

  it('a fold that fails between its insert and its delete leaves the deltas only; the replay then counts them once', async () => {
    const a = unfolding();
    expect(await allowedOf(a, 'torn', 10, 4)).toBe(4);
    // The fold's DELETE fails after its INSERT into QuotaCounter ran, in the same transaction.
    raw.exec(`CREATE TRIGGER "torn_fold" BEFORE DELETE ON "QuotaDelta" BEGIN SELECT RAISE(ABORT, 'torn (test)'); END`);
    try {
      await expect(a.settle()).rejects.toThrow(/torn/);
    } finally {
      raw.exec('DROP TRIGGER "torn_fold"');
    }
    expect(await folded('torn')).toBe(0);
    expect(await unfolded('torn')).toBe(4);
    const b = store(64, 1);
    await b.start(NOW);
    expect(await folded('torn')).toBe(4);
    expect(await allowedOf(b, 'torn', 10, 20)).toBe(6);
  });

  it('folds running while consumes arrive keep every counter exact', async () => {
    // Small folds and a tiny resident set: folds run between nearly every batch, counters come and go.
    const s = store(7, 2);
    const subjects = Array.from({ length: 30 }, (_, i) => `busy-${i}`);
    let allowed = 0;
    for (let round = 0; round < 6; round++) {
      const results = await Promise.all(
        subjects.flatMap((subject) => [s.consume(attempt(subject, 9)), s.consume(attempt(subject, 9))]),
      );
      allowed += results.filter((r) => r.allowed).length;
      if (round % 2 === 1) void s.settle();
    }
    // 12 tries each, 9 allowed each.
    expect(allowed).toBe(30 * 9);
    await s.settle();
    for (const subject of subjects) expect(await folded(subject)).toBe(9);
    expect(await t.db.quotaDelta.count()).toBe(0);
    expect(s.resident().counters).toBeLessThanOrEqual(2);
    for (const subject of subjects) expect((await s.consume(attempt(subject, 9))).allowed).toBe(false);
  });

  it('a refund is a negative delta: exact before the fold, after it, and after a replay', async () => {
    const a = unfolding();
    expect(await allowedOf(a, 'rf', 3, 3)).toBe(3);
    expect(await a.refund(refundOf('rf', 'n-rf-1', 2))).toBe(true);
    expect(await a.refund(refundOf('rf', 'n-rf-1', 2))).toBe(false);
    expect(await unfolded('rf')).toBe(1);
    // The unit given back is there before any fold: two more fit, not three.
    expect(await allowedOf(a, 'rf', 3, 3)).toBe(2);
    expect(await a.refund(refundOf('rf', 'n-rf-2'))).toBe(true);
    const b = store(2, 1);
    await b.start(NOW);
    expect(await folded('rf')).toBe(2);
    expect(await b.refund(refundOf('rf', 'n-rf-2'))).toBe(false);
    expect(await allowedOf(b, 'rf', 3, 3)).toBe(1);
  });

  it('pruning an ended window deletes its unfolded deltas too', async () => {
    const a = unfolding();
    expect(await allowedOf(a, 'old', 5, 2)).toBe(2);
    expect(await unfolded('old')).toBe(2);
    const nextDay = new Date(windowResetMs('day', START) + 60_000);
    await a.prune(nextDay);
    expect(await t.db.quotaDelta.count({ where: { subject: 'old' } })).toBe(0);
    await a.settle();
    expect(await t.db.quotaCounter.count({ where: { subject: 'old' } })).toBe(0);
  });
});
