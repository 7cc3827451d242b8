// A consume is answered only once its commit is on disk: the SQLite store commits a batch without
// waiting for the fsync and then waits for one fdatasync of the WAL in the thread pool (the sync
// synchronous=FULL would have done on the event loop). Held here by a disk the test controls.
import { openRawSql, type TSqliteRaw } from '@coolant/db';
import { createTestDb, type TTestDb } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryAdmissionStore } from '../src/domain/admission/memory-store';
import type { TConsumeAttempt, TConsumeResponse, TStoreOutcome } from '../src/domain/admission/types';
import { windowResetMs, windowStartMin } from '../src/domain/admission/windows';

const NOW = new Date('2026-11-27T10:00:00Z');
const START = windowStartMin('day', NOW.getTime());
const asResponse = (o: TStoreOutcome) =>
  ({ allowed: o.ok, used: o.used }) as unknown as TConsumeResponse & { used: number[] };

function attempt(subject: string): TConsumeAttempt {
  return {
    tierId: 'tier-d',
    tierName: 'd',
    subject,
    cost: 1,
    slots: [
      {
        window: 'day',
        scope: 'subject',
        startMin: START,
        limit: 10,
        resetMs: windowResetMs('day', START),
        source: 'base',
      },
    ],
    requestId: null,
    fingerprint: '',
    requestExpiresAt: new Date(NOW.getTime() + 3_600_000),
    now: NOW,
    build: asResponse,
  };
}

describe('admission answers after the WAL sync (sqlite)', () => {
  let t: TTestDb;
  let raw: TSqliteRaw;
  beforeAll(async () => {
    t = await createTestDb('sqlite');
    raw = openRawSql(t.config) as TSqliteRaw;
  });
  afterAll(async () => {
    raw.close();
    await t.cleanup();
  });

  it('a committed batch is not answered before its sync; the connection stays synchronous=FULL', async () => {
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    let syncs = 0;
    const slowDisk: TSqliteRaw = { ...raw, syncWal: () => (syncs++, held.then(() => raw.syncWal())) };
    // No idle fold: the deltas stay in QuotaDelta, where the count below finds them.
    const store = new MemoryAdmissionStore(t.db, slowDisk, { foldRows: 1_000_000, foldIdleMs: 1_000_000 });
    let answered = 0;
    const all = Promise.all(['a', 'b', 'c'].map((s) => store.consume(attempt(s)).then((r) => (answered++, r))));
    // Committed (another connection sees the deltas), not yet answered. Waited for, not slept on:
    // a loaded machine may take longer than any fixed sleep to get there.
    await vi.waitFor(async () => expect(await t.db.quotaDelta.count({ where: { tierId: 'tier-d' } })).toBe(3), {
      timeout: 10_000,
    });
    await vi.waitFor(() => expect(syncs).toBe(1), { timeout: 10_000 });
    expect(answered).toBe(0);
    release();
    expect((await all).map((r) => (r as { allowed: boolean }).allowed)).toEqual([true, true, true]);
    expect(raw.all('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
    await store.close();
  });

  it('the next batch is written while the previous one syncs, and answered only after it', async () => {
    const gates: (() => void)[] = [];
    const slowDisk: TSqliteRaw = {
      ...raw,
      syncWal: () => new Promise<void>((r) => gates.push(r)).then(() => raw.syncWal()),
    };
    const store = new MemoryAdmissionStore(t.db, slowDisk, { foldRows: 1_000_000, foldIdleMs: 1_000_000 });
    const order: string[] = [];
    const first = store.consume(attempt('p1')).then(() => order.push('p1'));
    await vi.waitFor(() => expect(gates.length).toBe(1), { timeout: 10_000 });
    const second = store.consume(attempt('p2')).then(() => order.push('p2'));
    // Both batches committed while the first one's sync is still held (the old loop waited for it).
    await vi.waitFor(() => expect(gates.length).toBe(2), { timeout: 10_000 });
    expect(await t.db.quotaDelta.count({ where: { subject: { in: ['p1', 'p2'] } } })).toBe(2);
    expect(order).toEqual([]);
    // The second sync finishing first does not answer the second batch before the first.
    gates[1]!();
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual([]);
    gates[0]!();
    await Promise.all([first, second]);
    expect(order).toEqual(['p1', 'p2']);
    await store.close();
  });

  it('a sync that fails answers "unavailable" and keeps the committed units counted', async () => {
    const failingDisk: TSqliteRaw = { ...raw, syncWal: () => Promise.reject(new Error('EIO')) };
    const store = new MemoryAdmissionStore(t.db, failingDisk, { foldRows: 1_000_000 });
    await expect(store.consume(attempt('e'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // The row is committed, so the unit stays spent: the next decision sees used = 2, not 1.
    const healthy = new MemoryAdmissionStore(t.db, raw, { foldRows: 1_000_000 });
    const next = (await healthy.consume(attempt('e'))) as unknown as { used: number[] };
    expect(next.used).toEqual([2]);
    await store.close().catch(() => {});
    await healthy.close();
  });
});
