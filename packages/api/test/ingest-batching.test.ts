/**
 * agent.report under group commit (domain/fleet/ingest-batcher.ts): the reports of many nodes that
 * arrive together share one transaction, and each still gets its own exact answer (acceptedUpTo,
 * accepted, duplicates), is stored once whatever the retries, and fails alone when its node is
 * revoked or gone. On SQLite and PostgreSQL; on PostgreSQL also two batchers (two consoles) locking
 * overlapping nodes in opposite orders.
 */
import { TRPCError } from '@trpc/server';
import { openRawSql, type TPgRaw } from '@coolant/db';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestBatcher } from '../src/domain/fleet/ingest-batcher';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

const T0 = Date.parse('2026-11-27T12:00:00Z');
const GPUS = 8;
const eight = (seq: number) =>
  Array.from({ length: GPUS }, (_, i) => gpu(i, { utilizationGpu: (seq * 10 + i) % 101, temperatureGpu: 40 + seq }));
/** Samples seq from..to, one second apart inside one minute. */
const samples = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => sample(from + k, eight(from + k), new Date(T0 + (from + k) * 1000)));

describe.each(TEST_PROVIDERS)('agent.report batched across nodes (%s)', (provider) => {
  let h: THarness;
  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(T0 + 30_000) });
  });
  afterAll(() => h.close());

  async function nodes(n: number, prefix: string) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const { nodeId, token } = await h.makeNodeToken(`${prefix}-${i}`);
      out.push({ nodeId, api: await h.caller({ authorization: token }) });
    }
    return out;
  }

  it('200 nodes reporting at once, each with a retry in flight: fewer transactions than reports, every sample stored once, every answer exact', async () => {
    const fleet = await nodes(200, 'many');
    const before = { ...h.services.fleet.batcher.stats };
    const send = (n: (typeof fleet)[number], from: number, to: number) =>
      n.api.agent.report({ intervalSeconds: 5, agentVersion: '0.2.0', samples: samples(from, to) });

    // A report and its retry, for every node, all in flight together.
    const first = await Promise.all(fleet.flatMap((n) => [send(n, 1, 3), send(n, 1, 3)]));
    for (let i = 0; i < fleet.length; i++) {
      const pair = [first[2 * i]!, first[2 * i + 1]!].sort((a, b) => b.accepted - a.accepted);
      expect(pair).toEqual([
        { acceptedUpTo: 3, accepted: 3, duplicates: 0, gpuSamples: 3 * GPUS },
        { acceptedUpTo: 3, accepted: 0, duplicates: 3, gpuSamples: 0 },
      ]);
    }
    // The next report overlaps the last (the agent did not hear the answer), again with a retry in flight.
    const second = await Promise.all(fleet.flatMap((n) => [send(n, 2, 4), send(n, 2, 4)]));
    for (let i = 0; i < fleet.length; i++) {
      const pair = [second[2 * i]!, second[2 * i + 1]!].sort((a, b) => b.accepted - a.accepted);
      expect(pair).toEqual([
        { acceptedUpTo: 4, accepted: 1, duplicates: 2, gpuSamples: GPUS },
        { acceptedUpTo: 4, accepted: 0, duplicates: 3, gpuSamples: 0 },
      ]);
    }

    const ids = fleet.map((n) => n.nodeId);
    expect(await h.db.gpuSample.count({ where: { nodeId: { in: ids } } })).toBe(200 * 4 * GPUS);
    const minutes = await h.db.gpuMinute.findMany({ where: { nodeId: { in: ids } } });
    expect(minutes).toHaveLength(200 * GPUS);
    for (const m of minutes) expect(m.samples).toBe(4);
    const stored = await h.db.node.findMany({ where: { id: { in: ids } } });
    for (const n of stored)
      expect(n).toMatchObject({ lastSeq: 4n, gpuCount: GPUS, agentVersion: '0.2.0', collectorFailures: 0 });
    const state = await h.db.gpuState.findUniqueOrThrow({
      where: { nodeId_gpuIndex: { nodeId: ids[17]!, gpuIndex: 3 } },
    });
    expect(state).toMatchObject({ utilizationGpu: 43, temperatureGpu: 44, sampledAt: new Date(T0 + 4000) });

    const after = h.services.fleet.batcher.stats;
    const reports = after.reports - before.reports;
    expect(reports).toBe(800);
    // Group commit: the 400 reports in flight together did not take 400 transactions.
    expect(after.batches - before.batches).toBeLessThan(reports / 4);
    expect(after.fallbacks).toBe(before.fallbacks);
  });

  it('one batch holding three reports of one node (a report, its retry, the next) answers each as if they came one after another', async () => {
    const [n] = await nodes(1, 'same');
    const others = await nodes(5, 'same-others');
    const fleet = h.services.fleet;
    const req = (nodeId: string, from: number, to: number) => ({
      nodeId,
      intervalSeconds: 5,
      agentVersion: null,
      samples: samples(from, to),
    });
    const before = fleet.batcher.stats.batches;
    // Queued in this order in one I/O phase: one transaction, applied in arrival order.
    const answers = await Promise.all([
      fleet.ingest(req(n!.nodeId, 1, 3)),
      ...others.map((o) => fleet.ingest(req(o.nodeId, 1, 1))),
      fleet.ingest(req(n!.nodeId, 1, 3)),
      fleet.ingest(req(n!.nodeId, 3, 4)),
    ]);
    expect(fleet.batcher.stats.batches - before).toBe(1);
    expect(answers[0]).toEqual({ acceptedUpTo: 3, accepted: 3, duplicates: 0, gpuSamples: 3 * GPUS });
    expect(answers.slice(1, 6)).toEqual(
      others.map(() => ({ acceptedUpTo: 1, accepted: 1, duplicates: 0, gpuSamples: GPUS })),
    );
    expect(answers[6]).toEqual({ acceptedUpTo: 3, accepted: 0, duplicates: 3, gpuSamples: 0 });
    expect(answers[7]).toEqual({ acceptedUpTo: 4, accepted: 1, duplicates: 1, gpuSamples: GPUS });
    // One minute row per GPU holding all four samples (PostgreSQL refuses an upsert touching a row twice).
    const minutes = await h.db.gpuMinute.findMany({ where: { nodeId: n!.nodeId }, orderBy: { gpuIndex: 'asc' } });
    expect(minutes.map((m) => m.samples)).toEqual(Array(GPUS).fill(4));
    expect(minutes[2]).toMatchObject({ utilCount: 4, utilSum: 12 + 22 + 32 + 42, utilMax: 42, tempMax: 44 });
    expect(await h.db.gpuSample.count({ where: { nodeId: n!.nodeId } })).toBe(4 * GPUS);
    expect(await h.db.node.findUniqueOrThrow({ where: { id: n!.nodeId } })).toMatchObject({
      lastSeq: 4n,
      lastSampleAt: new Date(T0 + 4000),
    });
  });

  it('a node revoked and a node deleted after their callers authenticated fail alone (401, 404); the others in the batch are stored', async () => {
    const fleet = await nodes(20, 'mixed');
    await h.db.node.update({ where: { id: fleet[5]!.nodeId }, data: { revokedAt: new Date(), revokedBy: 'test' } });
    await h.db.node.delete({ where: { id: fleet[12]!.nodeId } });
    const before = { ...h.services.fleet.batcher.stats };
    const settled = await Promise.allSettled(
      fleet.map((n) => n.api.agent.report({ intervalSeconds: 5, samples: samples(1, 2) })),
    );
    settled.forEach((s, i) => {
      if (i === 5 || i === 12) {
        expect(s.status).toBe('rejected');
        const e = (s as PromiseRejectedResult).reason as TRPCError;
        expect(e).toBeInstanceOf(TRPCError);
        expect([e.code, e.message]).toEqual(
          i === 5 ? ['UNAUTHORIZED', 'This node token has been revoked'] : ['NOT_FOUND', 'this node no longer exists'],
        );
      } else {
        expect(s).toEqual({
          status: 'fulfilled',
          value: { acceptedUpTo: 2, accepted: 2, duplicates: 0, gpuSamples: 2 * GPUS },
        });
      }
    });
    const after = h.services.fleet.batcher.stats;
    expect(after.batches - before.batches).toBeLessThan(5);
    // Decided before writing: the batch did not fail and fall back to one transaction per report.
    expect(after.fallbacks).toBe(before.fallbacks);
    expect(await h.db.gpuSample.count({ where: { nodeId: fleet[5]!.nodeId } })).toBe(0);
    expect(await h.db.gpuSample.count({ where: { nodeId: { in: fleet.map((n) => n.nodeId) } } })).toBe(18 * 2 * GPUS);
  });

  it('a batch whose transaction fails is stored report by report: each answered, none stored twice', async () => {
    const fleet = await nodes(10, 'fallback');
    const raw = openRawSql(h.testDb.config);
    try {
      let failures = 1;
      // The real connection, with its first transaction failing as a dropped connection would.
      const flaky = new Proxy(raw, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown;
          // SQLite batches commit through transactionUnsynced, PostgreSQL's and single reports through transaction.
          if ((key !== 'transaction' && key !== 'transactionUnsynced') || typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (failures-- > 0) throw new Error('connection terminated unexpectedly');
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const batcher = new IngestBatcher(flaky);
      const now = new Date(T0 + 30_000);
      const answers = await Promise.all(
        fleet.map((n) =>
          batcher.ingest({ nodeId: n.nodeId, intervalSeconds: 5, agentVersion: null, now, samples: samples(1, 1) }),
        ),
      );
      expect(answers).toEqual(fleet.map(() => ({ acceptedUpTo: 1, accepted: 1, duplicates: 0, gpuSamples: GPUS })));
      expect(batcher.stats.fallbacks).toBe(1);
      expect(await h.db.gpuSample.count({ where: { nodeId: { in: fleet.map((n) => n.nodeId) } } })).toBe(10 * GPUS);
    } finally {
      if (raw.kind === 'sqlite') raw.close();
      else await raw.close();
    }
  });

  it.runIf(provider === 'sqlite')(
    'on SQLite a report is answered only after the WAL is synced, and the connection stays synchronous=FULL for everyone else',
    async () => {
      const fleet = await nodes(3, 'durable');
      const raw = openRawSql(h.testDb.config);
      if (raw.kind !== 'sqlite') throw new Error('sqlite expected');
      try {
        let release = () => {};
        const held = new Promise<void>((r) => (release = r));
        let syncs = 0;
        // The real connection, its WAL sync held until the test lets it go.
        const slowDisk = { ...raw, syncWal: () => (syncs++, held.then(() => raw.syncWal())) };
        const batcher = new IngestBatcher(slowDisk);
        const now = new Date(T0 + 30_000);
        let answered = 0;
        const all = Promise.all(
          fleet.map((n) =>
            batcher
              .ingest({ nodeId: n.nodeId, intervalSeconds: 5, agentVersion: null, now, samples: samples(1, 1) })
              .then((r) => (answered++, r)),
          ),
        );
        await new Promise((r) => setTimeout(r, 100));
        // Committed (another connection sees it), not yet answered.
        expect(await h.db.gpuSample.count({ where: { nodeId: { in: fleet.map((n) => n.nodeId) } } })).toBe(3 * GPUS);
        expect([answered, syncs]).toEqual([0, 1]);
        release();
        expect((await all).map((r) => r.accepted)).toEqual([1, 1, 1]);
        expect(raw.all('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
      } finally {
        raw.close();
      }
    },
  );

  it.runIf(provider === 'postgresql')(
    'two consoles batching the same nodes in opposite orders do not deadlock, and count each sample once',
    async () => {
      const fleet = await nodes(60, 'two-consoles');
      const rawA = openRawSql(h.testDb.config) as TPgRaw;
      const rawB = openRawSql(h.testDb.config) as TPgRaw;
      try {
        const a = new IngestBatcher(rawA);
        const b = new IngestBatcher(rawB);
        const now = new Date(T0 + 30_000);
        for (let round = 0; round < 5; round++) {
          const seq = round + 1;
          const req = (nodeId: string) => ({
            nodeId,
            intervalSeconds: 5,
            agentVersion: null,
            now,
            samples: samples(seq, seq),
          });
          // Arrival order is what an unsorted lock order would follow: A forwards, B backwards.
          const answers = await Promise.all([
            ...fleet.map((n) => a.ingest(req(n.nodeId))),
            ...[...fleet].reverse().map((n) => b.ingest(req(n.nodeId))),
          ]);
          expect(answers.reduce((sum, r) => sum + r.accepted, 0)).toBe(fleet.length);
          for (const r of answers) expect(r.acceptedUpTo).toBe(seq);
        }
        expect(a.stats.fallbacks + b.stats.fallbacks).toBe(0);
        expect(await h.db.gpuSample.count({ where: { nodeId: { in: fleet.map((n) => n.nodeId) } } })).toBe(
          60 * 5 * GPUS,
        );
      } finally {
        await rawA.close();
        await rawB.close();
      }
    },
  );
});
