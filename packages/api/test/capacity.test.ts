// capacity.get / capacity.configure against real SQLite and PostgreSQL, the fleet fed through agent.report.
import { randomBytes } from 'node:crypto';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CapacityService } from '../src/domain/capacity/capacity-service';
import { refreshCapacitySnapshot } from '../src/domain/capacity/capacity-snapshot';
import { writeCapacityMetrics } from '../src/domain/capacity/capacity-metrics';
import { MetricsWriter } from '../src/lib/prometheus';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

const T0 = Date.parse('2026-11-27T12:00:00Z');

describe.each(TEST_PROVIDERS)('capacity (%s)', (provider) => {
  let h: THarness;
  let clock = T0;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let viewer: Awaited<ReturnType<THarness['caller']>>;
  const seqs = new Map<string, number>();

  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    viewer = await h.caller({ authorization: await h.makeToken('viewer') });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    clock = T0;
    // Each test has its own fleet: the nodes of earlier tests are revoked (revoked nodes count for nothing).
    await h.db.node.updateMany({ where: { revokedAt: null }, data: { revokedAt: new Date(T0) } });
    await h.db.generationLease.deleteMany({});
  });

  async function node(hostname: string) {
    const { nodeId, token } = await h.makeNodeToken(hostname);
    return { nodeId, api: await h.caller({ authorization: token }) };
  }

  async function report(n: { nodeId: string; api: Awaited<ReturnType<typeof node>>['api'] }, temps: number[]) {
    const seq = (seqs.get(n.nodeId) ?? 0) + 1;
    seqs.set(n.nodeId, seq);
    await n.api.agent.report({
      intervalSeconds: 5,
      samples: [
        sample(
          seq,
          temps.map((t, i) => gpu(i, { temperatureGpu: t })),
          new Date(clock),
        ),
      ],
    });
  }

  it('is off with defaults until configured; configure is audited, replaces the shares and names bad input', async () => {
    const fresh = await viewer.capacity.get();
    expect(fresh).toMatchObject({ enabled: false, state: 'off', slotsPerGpu: 1, hotWeight: 0.5 });
    expect(fresh.tiers.map((t) => t.tier).sort()).toEqual(['free', 'plus', 'pro', 'team']);
    expect(fresh.tiers.every((t) => t.priority === 0 && t.reserved === 0 && t.inflight === 0)).toBe(true);

    const version = (await h.db.configState.findUniqueOrThrow({ where: { id: 1 } })).version;
    await admin.capacity.configure({
      enabled: true,
      slotsPerGpu: 2,
      hotWeight: 0.25,
      shares: [
        { tier: 'pro', priority: 2, reserved: 0.5 },
        { tier: 'free', priority: 0, reserved: 0.12 },
      ],
      reason: 'launch',
    });
    expect((await h.db.configState.findUniqueOrThrow({ where: { id: 1 } })).version).toBe(version + 1);
    const audit = await h.db.auditEvent.findFirstOrThrow({ where: { action: 'capacity.configure' } });
    expect(audit).toMatchObject({ reason: 'launch', actorName: 't-admin' });
    expect(JSON.parse(audit.details!).after).toMatchObject({ enabled: true, slotsPerGpu: 2, hotWeight: 0.25 });
    const got = await viewer.capacity.get();
    expect(got).toMatchObject({ enabled: true, slotsPerGpu: 2, hotWeight: 0.25 });
    expect(got.tiers.slice(0, 2)).toMatchObject([
      { tier: 'pro', priority: 2, reserved: 0.5 },
      { tier: 'free', priority: 0, reserved: 0.12 },
    ]);

    // Omitted fields stay; shares given replace them all (pro falls back to 0 / 0).
    await admin.capacity.configure({ shares: [{ tier: 'free', priority: 1, reserved: 0.1 }], reason: 'rebalance' });
    // The reason is optional, as the signature has it (the page asks for one): audited with none.
    await admin.capacity.configure({ enabled: true });
    await admin.capacity.configure({ enabled: true, reason: '  ' });
    const unexplained = await h.db.auditEvent.findMany({
      where: { action: 'capacity.configure' },
      orderBy: { at: 'desc' },
      take: 2,
    });
    expect(unexplained.map((e) => e.reason)).toEqual([null, null]);
    const after = await viewer.capacity.get();
    expect(after).toMatchObject({ enabled: true, slotsPerGpu: 2 });
    expect(after.tiers.find((t) => t.tier === 'pro')).toMatchObject({ priority: 0, reserved: 0 });
    expect(after.tiers[0]).toMatchObject({ tier: 'free', priority: 1, reserved: 0.1 });

    await expect(
      admin.capacity.configure({ shares: [{ tier: 'nope', priority: 1, reserved: 0.1 }], reason: 'x' }),
    ).rejects.toThrow(/no such tier.*nope/);
    await expect(
      admin.capacity.configure({
        shares: [
          { tier: 'free', priority: 1, reserved: 0.6 },
          { tier: 'pro', priority: 2, reserved: 0.5 },
        ],
        reason: 'x',
      }),
    ).rejects.toThrow(/more than 100 %/);
    await expect(admin.capacity.configure({ hotWeight: 2, reason: 'x' })).rejects.toThrow(/hotWeight/);
    // Replace mode needs each share whole; merge mode's over-100 % counts the tiers not named.
    await expect(admin.capacity.configure({ shares: [{ tier: 'free', reserved: 0.2 }] })).rejects.toThrow(
      /shares\[0\] \(free\): priority is required when sharesMode is 'replace'/,
    );
    await admin.capacity.configure({ sharesMode: 'merge', shares: [{ tier: 'pro', priority: 3, reserved: 0.7 }] });
    await expect(
      admin.capacity.configure({ sharesMode: 'merge', shares: [{ tier: 'free', reserved: 0.4 }] }),
    ).rejects.toThrow(/the total would be 110 %, more than 100 %/);
    await admin.capacity.configure({ shares: [{ tier: 'free', priority: 1, reserved: 0.1 }] });
    // A refused change left nothing behind.
    expect((await viewer.capacity.get()).tiers[0]).toMatchObject({ tier: 'free', reserved: 0.1 });
  });

  it('merge mode: two operators editing different tiers at once both keep their edit; fields not given stay', async () => {
    await admin.capacity.configure({
      shares: [
        { tier: 'pro', priority: 5, reserved: 0.2 },
        { tier: 'free', priority: 1, reserved: 0.1 },
      ],
      reason: 'base',
    });
    const other = await h.caller({ authorization: await h.makeToken('admin') });
    for (let round = 0; round < 5; round++) {
      const [p, f] = [0.3 + round / 100, 0.15 + round / 100];
      await Promise.all([
        admin.capacity.configure({ sharesMode: 'merge', shares: [{ tier: 'pro', reserved: p }], reason: 'pro' }),
        other.capacity.configure({ sharesMode: 'merge', shares: [{ tier: 'free', reserved: f }] }),
      ]);
      const got = await viewer.capacity.get();
      expect(got.tiers.find((t) => t.tier === 'pro')).toMatchObject({ priority: 5, reserved: p });
      expect(got.tiers.find((t) => t.tier === 'free')).toMatchObject({ priority: 1, reserved: f });
    }
    // What the CLI and the page used to do (read, then send every share back) loses an edit made in between;
    // a merge of only the changed tier does not.
    await admin.capacity.configure({ sharesMode: 'merge', shares: [{ tier: 'free', reserved: 0.05 }] });
    await other.capacity.configure({ sharesMode: 'merge', shares: [{ tier: 'pro', priority: 7 }] });
    const end = await viewer.capacity.get();
    expect(end.tiers.find((t) => t.tier === 'free')).toMatchObject({ priority: 1, reserved: 0.05 });
    expect(end.tiers.find((t) => t.tier === 'pro')).toMatchObject({ priority: 7, reserved: 0.3 + 4 / 100 });
  });

  it('a failed snapshot or sample write that is not a lost race is an error, not a silent "someone else wrote it"', async () => {
    const a = await node('cap-e');
    await report(a, [40]);
    const raise = async (table: string) => {
      if (provider === 'sqlite') {
        await h.db.$executeRawUnsafe(
          `CREATE TRIGGER boom BEFORE INSERT ON "${table}" BEGIN SELECT RAISE(ABORT, 'boom: disk full'); END`,
        );
      } else {
        await h.db.$executeRawUnsafe(
          `CREATE OR REPLACE FUNCTION boom() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom: disk full'; END $$ LANGUAGE plpgsql`,
        );
        await h.db.$executeRawUnsafe(
          `CREATE TRIGGER boom BEFORE INSERT ON "${table}" FOR EACH ROW EXECUTE FUNCTION boom()`,
        );
      }
    };
    const unraise = (table: string) =>
      h.db.$executeRawUnsafe(provider === 'sqlite' ? 'DROP TRIGGER boom' : `DROP TRIGGER boom ON "${table}"`);
    const common = { db: h.db, offlineAfterMs: 120_000, force: true, instanceId: 'instance-x' };
    await h.db.capacitySnapshot.deleteMany({});
    await raise('CapacitySnapshot');
    try {
      await expect(refreshCapacitySnapshot({ ...common, now: new Date(clock) })).rejects.toThrow(
        provider === 'sqlite' ? /constraint|boom/ : /boom: disk full/,
      );
    } finally {
      await unraise('CapacitySnapshot');
    }
    clock += 10_000;
    await raise('CapacitySample');
    try {
      await expect(
        refreshCapacitySnapshot({ ...common, now: new Date(clock), sampleTiers: async () => ({}) }),
      ).rejects.toThrow(provider === 'sqlite' ? /constraint|boom/ : /boom: disk full/);
    } finally {
      await unraise('CapacitySample');
    }
    // A second sample in the same bucket is the lost race it always was: no error.
    await refreshCapacitySnapshot({ ...common, now: new Date(clock), sampleTiers: async () => ({}) });
    await refreshCapacitySnapshot({ ...common, now: new Date(clock), sampleTiers: async () => ({}) });
  });

  it('follows the fleet: a hot GPU counts hotWeight, a node that stops reporting takes its GPUs out', async () => {
    await admin.capacity.configure({
      enabled: true,
      slotsPerGpu: 1,
      hotWeight: 0.5,
      shares: [
        { tier: 'pro', priority: 2, reserved: 0.5 },
        { tier: 'free', priority: 0, reserved: 0.12 },
      ],
      reason: 'fleet test',
    });
    const a = await node('cap-a');
    const b = await node('cap-b');
    await report(a, [40, 41, 42, 43]);
    await report(b, [40, 41, 42, 90]); // GPU 3 at 90 °C: hot (alert rule: 85 °C)
    clock += 2_500; // past the refresh interval
    const both = await viewer.capacity.get();
    expect(both).toMatchObject({
      state: 'ok',
      slots: 7.5,
      usableGpus: 8,
      hotGpus: 1,
      nodesOnline: 2,
      nodesOffline: 0,
    });
    expect(both.tiers.find((t) => t.tier === 'pro')).toMatchObject({ reservedSlots: 4 }); // ceil(3.75)
    expect(both.tiers.find((t) => t.tier === 'free')?.summary).toBe('free: 0 of 7.5 slots, reserved 12 %; 1 GPU hot');

    // b stops reporting; a keeps going. Three intervals later b is stale, its GPUs no longer count.
    for (let i = 0; i < 4; i++) {
      clock += 5_000;
      await report(a, [40, 41, 42, 43]);
    }
    const one = await viewer.capacity.get();
    expect(one).toMatchObject({ state: 'ok', slots: 4, usableGpus: 4, hotGpus: 0, nodesOnline: 1, nodesOffline: 1 });
    expect(one.tiers.find((t) => t.tier === 'pro')).toMatchObject({ reservedSlots: 2 });
    expect(one.tiers.find((t) => t.tier === 'free')?.summary).toBe('free: 0 of 4 slots, reserved 12 %; 1 node offline');

    // /metrics reads the same figures.
    const m = new MetricsWriter();
    await writeCapacityMetrics({ db: h.db, now: new Date(clock), instanceId: 'test', offlineAfterMs: 120_000, m });
    const text = m.toString();
    expect(text).toContain('coolant_capacity_slots 4\n');
    expect(text).toContain('coolant_tier_reserved_slots{tier="pro"} 2\n');
    expect(text).toContain('coolant_tier_inflight{tier="free"} 0\n');

    // b is back: C recovers at the next refresh.
    clock += 2_500;
    await report(b, [40, 41, 42, 43]);
    await report(a, [40, 41, 42, 43]);
    expect(await viewer.capacity.get()).toMatchObject({ slots: 8, usableGpus: 8, nodesOffline: 0 });

    // No report at all for longer than the guard's stall threshold (60 s): capacity unknown, failMode decides.
    clock += 61_000;
    expect(await viewer.capacity.get()).toMatchObject({ state: 'unknown', slots: 0, nodesOffline: 2 });
  });

  it('counts live leases per tier from the lease table: released and expired ones hold nothing', async () => {
    const free = await h.db.tier.findUniqueOrThrow({ where: { name: 'free' } });
    const now = new Date(clock);
    const lease = (over: { expiresAt: Date; releasedAt?: Date | null; outcome?: string | null }) => ({
      id: randomBytes(8).toString('hex'),
      tierId: free.id,
      subject: 'u1',
      consumedAtMin: Math.floor(clock / 60_000),
      createdAt: new Date(clock - 1_000),
      instanceId: 'test',
      releasedAt: null,
      outcome: null,
      ...over,
    });
    await h.db.generationLease.createMany({
      data: [
        lease({ expiresAt: new Date(clock + 60_000) }),
        lease({ expiresAt: new Date(clock + 60_000) }),
        lease({ expiresAt: new Date(clock + 60_000), releasedAt: now, outcome: 'done' }),
        lease({ expiresAt: new Date(clock - 1) }), // expired, not swept yet: frees its slot by itself
      ],
    });
    const got = await viewer.capacity.get();
    expect(got.tiers.find((t) => t.tier === 'free')).toMatchObject({ inflight: 2 });
    expect(got.inflight).toBe(2);
    clock += 60_000;
    expect((await viewer.capacity.get()).tiers.find((t) => t.tier === 'free')).toMatchObject({ inflight: 0 });
  });

  it('two instances refreshing at once write one snapshot and both apply it', async () => {
    const a = await node('cap-c');
    await report(a, [40, 41]);
    const common = { db: h.db, now: new Date(clock), offlineAfterMs: 120_000, force: true };
    const before = await h.db.capacitySnapshot.findUnique({ where: { id: 1 } });
    const [x, y] = await Promise.all([
      refreshCapacitySnapshot({ ...common, instanceId: 'instance-x' }),
      refreshCapacitySnapshot({ ...common, instanceId: 'instance-y' }),
    ]);
    expect(x).toEqual(y);
    expect(x.seq).toBe((before?.seq ?? 0) + 1);
    expect(['instance-x', 'instance-y']).toContain(x.computedBy);
    expect(x.slots).toBe(2);
  });

  it('two instances running the loop apply one C: measured again only when older than 2 s, one history sample per 10 s', async () => {
    const a = await node('cap-d');
    await report(a, [40, 41, 42]);
    const svc = (id: string) =>
      new CapacityService({ db: h.db, now: () => new Date(clock), instanceId: id, offlineAfterMs: 120_000 });
    const [x, y] = [svc('instance-x'), svc('instance-y')];
    clock += 10_000;
    await report(a, [40, 41, 42]);
    const [sx, sy] = await Promise.all([x.tick(), y.tick()]);
    expect(sx).toEqual(sy);
    expect(sx).toMatchObject({ slots: 3, computedAt: new Date(clock) });
    expect(await h.db.capacitySample.count({ where: { at: new Date(Math.floor(clock / 10_000) * 10_000) } })).toBe(1);
    // Fresh: the next tick within 2 s applies the same row, measured by nobody.
    clock += 1_000;
    expect(await y.tick()).toEqual(sx);
    clock += 1_500;
    const next = await y.tick();
    expect(next.seq).toBe(sx.seq + 1);
    expect(next.computedBy).toBe('instance-y');
    expect(x.current?.seq).toBe(sx.seq);
    expect((await x.tick()).seq).toBe(next.seq);
  });
});
