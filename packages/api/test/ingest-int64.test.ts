/**
 * agent.report with the numbers a real spool can reach: a sequence past 2^31 (the spool jumps to a
 * time-derived one after a damaged state file; 32-bit columns made every later report a 503) and
 * ECC counters past it, on SQLite and PostgreSQL; what an agent asks before sending; and a sample
 * with two readings for one GPU, refused with a 400 that names it (PostgreSQL's upsert used to 503).
 */
import { TRPCError } from '@trpc/server';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

const T0 = Date.parse('2026-11-27T12:00:00Z');

describe.each(TEST_PROVIDERS)('agent.report with 64-bit numbers (%s)', (provider) => {
  let h: THarness;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(T0 + 60_000) });
    admin = await h.caller({ authorization: await h.makeToken('admin') });
  });
  afterAll(() => h.close());

  async function node(hostname: string) {
    const { nodeId, token } = await h.makeNodeToken(hostname);
    return { nodeId, api: await h.caller({ authorization: token }) };
  }

  it('stores and acknowledges a sequence above 2^40, then seq+1, and tells the agent where it is', async () => {
    const n = await node('big-seq');
    expect(await n.api.agent.sequence()).toEqual({ acceptedUpTo: 0 });
    const seq = 2 ** 40 + 7;
    const ecc = 2 ** 33 + 1;
    const first = sample(seq, [gpu(0, { eccCorrected: ecc, eccUncorrected: 2 ** 31 })], new Date(T0), {
      spoolDropped: 2 ** 32,
    });
    expect(await n.api.agent.report({ intervalSeconds: 5, samples: [first] })).toEqual({
      acceptedUpTo: seq,
      accepted: 1,
      duplicates: 0,
      gpuSamples: 1,
    });
    // A retry is a duplicate: the stored seq compares equal to the one sent, whatever its type on the wire.
    expect(await n.api.agent.report({ intervalSeconds: 5, samples: [first] })).toMatchObject({
      acceptedUpTo: seq,
      accepted: 0,
      duplicates: 1,
    });
    const next = sample(seq + 1, [gpu(0, { eccCorrected: ecc + 1 })], new Date(T0 + 5_000), { spoolDropped: 2 ** 32 });
    expect(await n.api.agent.report({ intervalSeconds: 5, samples: [next] })).toEqual({
      acceptedUpTo: seq + 1,
      accepted: 1,
      duplicates: 0,
      gpuSamples: 1,
    });
    expect(await n.api.agent.sequence()).toEqual({ acceptedUpTo: seq + 1 });

    const stored = await h.db.node.findUniqueOrThrow({ where: { id: n.nodeId } });
    expect(stored.lastSeq).toBe(BigInt(seq + 1));
    expect(stored.spoolDropped).toBe(BigInt(2 ** 32));
    const detail = await admin.fleet.node({ id: n.nodeId });
    expect(detail).toMatchObject({ lastSeq: seq + 1, spoolDropped: 2 ** 32 });
    expect(detail.gpus[0]).toMatchObject({ eccCorrected: ecc + 1, eccUncorrected: 0 });
    expect(await h.db.gpuSample.count({ where: { nodeId: n.nodeId } })).toBe(2);
    const rollups = await h.db.gpuMinute.findMany({ where: { nodeId: n.nodeId } });
    expect(rollups.reduce((sum, r) => sum + r.samples, 0)).toBe(2);
    expect((await admin.fleet.list()).nodes.find((x) => x.id === n.nodeId)).toMatchObject({ lastSeq: seq + 1 });
  });

  it('accepts the largest sequence a spool can hand out', async () => {
    const n = await node('max-seq');
    const seq = Number.MAX_SAFE_INTEGER;
    expect(
      await n.api.agent.report({
        intervalSeconds: 5,
        samples: [sample(seq - 1, [gpu(0)], new Date(T0)), sample(seq, [gpu(0)], new Date(T0 + 5_000))],
      }),
    ).toMatchObject({ acceptedUpTo: seq, accepted: 2 });
    expect(await n.api.agent.sequence()).toEqual({ acceptedUpTo: seq });
  });

  it('refuses two readings for one GPU in a sample with a 400 naming the sample and the index, storing nothing', async () => {
    const n = await node('dup-gpu');
    const good = sample(1, [gpu(0), gpu(1)], new Date(T0));
    const bad = sample(2, [gpu(0), gpu(2), gpu(1), gpu(2, { temperatureGpu: 90 })], new Date(T0 + 5_000));
    const e = await n.api.agent.report({ intervalSeconds: 5, samples: [good, bad] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TRPCError);
    expect((e as TRPCError).code).toBe('BAD_REQUEST');
    expect((e as TRPCError).message).toBe('samples.1.gpus: duplicate GPU index 2');
    expect(await n.api.agent.sequence()).toEqual({ acceptedUpTo: 0 });
    expect(await n.api.agent.report({ intervalSeconds: 5, samples: [good] })).toMatchObject({
      acceptedUpTo: 1,
      accepted: 1,
    });
  });
});
