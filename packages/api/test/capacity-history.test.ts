// capacity.history against real SQLite and PostgreSQL: the Capacity page's samples (C, in flight and
// R(t) per tier, one per 10 s, none while C is unknown) and refusals per tier, minute and reason.
import { randomBytes } from 'node:crypto';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CapacityService } from '../src/domain/capacity/capacity-service';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

const T0 = Date.parse('2026-11-27T12:00:00Z');
const MIN = Math.floor(T0 / 60_000);

describe.each(TEST_PROVIDERS)('capacity.history (%s)', (provider) => {
  let h: THarness;
  let clock = T0;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let viewer: Awaited<ReturnType<THarness['caller']>>;
  let seq = 0;

  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    viewer = await h.caller({ authorization: await h.makeToken('viewer') });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    clock = T0;
    await h.db.node.updateMany({ where: { revokedAt: null }, data: { revokedAt: new Date(T0) } });
    await h.db.generationLease.deleteMany({});
    await h.db.capacitySample.deleteMany({});
    await h.db.capacitySnapshot.deleteMany({});
    await h.db.admissionRefusalStat.deleteMany({});
  });

  async function fleetNode(hostname: string) {
    const { token } = await h.makeNodeToken(hostname);
    const api = await h.caller({ authorization: token });
    return (gpus: number) =>
      api.agent.report({
        intervalSeconds: 5,
        samples: [
          sample(
            ++seq,
            Array.from({ length: gpus }, (_, i) => gpu(i)),
            new Date(clock),
          ),
        ],
      });
  }

  it('answers the samples of the window, oldest first, with each tier in flight and R(t); a node lost shows as C falling', async () => {
    // Configured before the first bucket: configure measures C at once (no sample), the loop's first tick then is due.
    clock = T0 - 10_000;
    await admin.capacity.configure({
      enabled: true,
      shares: [
        { tier: 'pro', priority: 2, reserved: 0.5 },
        { tier: 'free', priority: 0, reserved: 0.25 },
      ],
      reason: 'history test',
    });
    clock = T0;
    const free = await h.db.tier.findUniqueOrThrow({ where: { name: 'free' } });
    await h.db.generationLease.createMany({
      data: [1, 2, 3].map(() => ({
        id: randomBytes(8).toString('hex'),
        tierId: free.id,
        subject: 'u',
        consumedAtMin: MIN,
        createdAt: new Date(T0),
        expiresAt: new Date(T0 + 3_600_000),
        instanceId: 'test',
      })),
    });
    const a = await fleetNode('hist-a');
    const b = await fleetNode('hist-b');
    const svc = new CapacityService({ db: h.db, now: () => new Date(clock), instanceId: 'x', offlineAfterMs: 120_000 });
    // One sample per 10 s bucket for a minute; b stops reporting after 20 s.
    for (let i = 0; i < 6; i++) {
      await a(4);
      if (i < 2) await b(4);
      await svc.tick();
      clock += 10_000;
    }
    const got = await viewer.capacity.history({ minutes: 60 });
    expect(got.bucketSeconds).toBe(10);
    expect(got.to).toBe(new Date(clock).toISOString());
    expect(got.samples.map((s) => Date.parse(s.at))).toEqual([0, 1, 2, 3, 4, 5].map((i) => T0 + i * 10_000));
    // b is stale three intervals (15 s) after its last report at +10 s: out from the +30 s sample on.
    expect(got.samples.map((s) => s.slots)).toEqual([8, 8, 8, 4, 4, 4]);
    expect(got.samples[0]!.tiers.free).toEqual({ inflight: 3, reservedSlots: 2 });
    expect(got.samples[0]!.tiers.pro).toEqual({ inflight: 0, reservedSlots: 4 });
    expect(got.samples[5]!.tiers.free).toEqual({ inflight: 3, reservedSlots: 1 });
    expect(got.samples[5]!.usableGpus).toBe(4);

    // The window: the last minute holds the samples after clock - 60 s only.
    const lastMinute = await viewer.capacity.history({ minutes: 1 });
    expect(lastMinute.samples.map((s) => Date.parse(s.at))).toEqual([1, 2, 3, 4, 5].map((i) => T0 + i * 10_000));
    // Without input: the last hour.
    expect((await viewer.capacity.history()).samples).toHaveLength(6);
  });

  it('writes no sample while C is unknown: the page shows a gap, not an empty fleet', async () => {
    const a = await fleetNode('hist-c');
    const svc = new CapacityService({ db: h.db, now: () => new Date(clock), instanceId: 'x', offlineAfterMs: 120_000 });
    await a(2);
    await svc.tick();
    clock += 70_000; // no report for longer than the guard's stall threshold (60 s)
    expect(await svc.tick()).toMatchObject({ state: 'unknown', slots: 0 });
    clock += 10_000;
    await a(2);
    await svc.tick();
    const got = await viewer.capacity.history({ minutes: 60 });
    expect(got.samples.map((s) => [Date.parse(s.at) - T0, s.slots])).toEqual([
      [0, 2],
      [80_000, 2],
    ]);
  });

  it('answers refusals per tier, minute and reason within the window', async () => {
    clock = T0 + 30 * 60_000;
    const now = MIN + 30;
    await h.db.admissionRefusalStat.createMany({
      data: [
        { tierName: 'free', minute: now - 61, reason: 'over_capacity', count: 9 }, // before the window
        { tierName: 'free', minute: now - 2, reason: 'over_capacity', count: 4 },
        { tierName: 'free', minute: now - 2, reason: 'quota_exceeded', count: 1 },
        { tierName: 'pro', minute: now - 1, reason: 'concurrency_limit', count: 2 },
        { tierName: 'free', minute: now, reason: 'over_capacity', count: 7 },
        { tierName: 'free', minute: now, reason: 'tier_limit', count: 0 }, // a row with nothing: left out
      ],
    });
    const got = await viewer.capacity.history({ minutes: 60 });
    expect(got.refusals).toEqual([
      { minute: new Date((now - 2) * 60_000).toISOString(), tier: 'free', reason: 'over_capacity', count: 4 },
      { minute: new Date((now - 2) * 60_000).toISOString(), tier: 'free', reason: 'quota_exceeded', count: 1 },
      { minute: new Date((now - 1) * 60_000).toISOString(), tier: 'pro', reason: 'concurrency_limit', count: 2 },
      { minute: new Date(now * 60_000).toISOString(), tier: 'free', reason: 'over_capacity', count: 7 },
    ]);
    expect(got.samples).toEqual([]);
  });

  it('names bad input', async () => {
    await expect(viewer.capacity.history({ minutes: 0 })).rejects.toThrow(/minutes must be at least 1/);
    await expect(viewer.capacity.history({ minutes: 1441 })).rejects.toThrow(/at most 1440/);
    await expect(viewer.capacity.history({ minutes: 1.5 })).rejects.toThrow(/whole number/);
    await expect(viewer.capacity.history({ minutes: 5, hours: 1 } as never)).rejects.toThrow(/hours/);
  });
});
