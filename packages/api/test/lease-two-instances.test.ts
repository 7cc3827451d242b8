// Two console instances sharing one PostgreSQL database (two services objects, each with its own
// Prisma client, pg pool, config sync and instance id): 1,000 concurrent lease requests split
// between them admit exactly the bound, with and without the capacity rule; a release on one
// instance frees the slot for the other; two sweepers count an expiry once.
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createCaller } from '../src/root';
import type { TRunningServices } from '../src/services';
import { callerOn, createHarness, startInstance, type THarness } from './harness';

const describePg = TEST_PROVIDERS.includes('postgresql') ? describe : describe.skip;

describePg('generation leases on two instances sharing PostgreSQL', () => {
  let h: THarness;
  let second: TRunningServices;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let gws: ReturnType<typeof createCaller>[];

  beforeAll(async () => {
    h = await createHarness('postgresql');
    second = await startInstance(h);
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    const token = await h.makeToken('gateway');
    gws = [await callerOn(h.services, token), await callerOn(second, token)];
    expect(second.config.instanceId).not.toBe(h.services.config.instanceId);
  });
  afterAll(async () => {
    await second.stop();
    await second.db.$disconnect();
    await h.close();
  });

  async function race(tier: string, n: number) {
    return Promise.all(
      Array.from({ length: n }, (_, i) =>
        gws[i % 2]!.admission.consume({ tier, subject: `s${i}`, lease: { ttlSeconds: 600 } }).then((r) => ({
          ...r,
          instance: i % 2,
        })),
      ),
    );
  }

  it('1,000 concurrent lease requests over both instances against perTier 600 admit exactly 600', async () => {
    await admin.tiers.create({ name: 'two-a' });
    await admin.tiers.setLimit({ tier: 'two-a', window: 'day', limit: 100_000 });
    await admin.tiers.setConcurrency({ tier: 'two-a', perTier: 600, perSubject: null });
    await second.config.reload();
    const results = await race('two-a', 1000);
    const ok = results.filter((r) => r.allowed);
    expect(ok).toHaveLength(600);
    expect(results.filter((r) => !r.allowed).every((r) => r.reason === 'concurrency_limit')).toBe(true);
    // Each instance decides in batches of at most 256: both admitted some, each counting the other's.
    expect(new Set(ok.map((r) => r.instance)).size).toBe(2);
    const t = await h.db.tier.findUniqueOrThrow({ where: { name: 'two-a' } });
    expect(await h.db.generationLease.count({ where: { tierId: t.id, releasedAt: null } })).toBe(600);
    expect(Number((await h.db.leaseTotal.findUniqueOrThrow({ where: { tierId: t.id } })).acquired)).toBe(600);

    // A release on one instance frees one slot that the other can take, once.
    const lease = ok.find((r) => r.instance === 0)!.lease!.id;
    const rel = await Promise.all([
      gws[1]!.admission.release({ lease, outcome: 'done' }),
      gws[0]!.admission.release({ lease, outcome: 'done' }),
    ]);
    expect(rel.filter((r) => r.released)).toHaveLength(1);
    const next = await race('two-a', 20);
    expect(next.filter((r) => r.allowed)).toHaveLength(1);
  });

  it('with the capacity rule: 1,000 requests over both instances fill C = 700 exactly', async () => {
    await admin.tiers.create({ name: 'two-c' });
    await admin.capacity.configure({
      enabled: true,
      shares: [{ tier: 'two-c', priority: 1, reserved: 0.25 }],
      reason: 't',
    });
    const data = {
      seq: 1,
      computedAt: new Date(),
      computedBy: 'test',
      state: 'ok',
      slots: 700,
      usableGpus: 700,
      hotGpus: 0,
      gpusTotal: 700,
      nodesOnline: 10,
      nodesOffline: 0,
      gpusUnusable: 0,
      telemetryAt: new Date(),
    };
    await h.db.capacitySnapshot.upsert({ where: { id: 1 }, create: { id: 1, ...data }, update: data });
    // The first test's leases end (set up straight in the table): two-c may use the whole fleet.
    await h.db.generationLease.updateMany({
      where: { releasedAt: null },
      data: { releasedAt: new Date(), outcome: 'done' },
    });
    await second.config.reload();
    const results = await race('two-c', 1000);
    const ok = results.filter((r) => r.allowed);
    expect(ok).toHaveLength(700);
    expect(new Set(ok.map((r) => r.instance)).size).toBe(2);
    expect(await h.db.generationLease.count({ where: { releasedAt: null, expiresAt: { gt: new Date() } } })).toBe(700);
    expect(results.filter((r) => !r.allowed).every((r) => r.reason === 'over_capacity')).toBe(true);
    await admin.capacity.configure({ enabled: false, reason: 't' });
  });

  it('an expiry is counted once when both instances sweep at once', async () => {
    await admin.tiers.create({ name: 'two-e' });
    const a = await gws[0]!.admission.consume({ tier: 'two-e', subject: 'x', lease: { ttlSeconds: 1 } });
    expect(a.allowed).toBe(true);
    await new Promise((r) => setTimeout(r, 1300));
    await Promise.all([h.services.admission.leases.sweep(), second.admission.leases.sweep()]);
    const t = await h.db.tier.findUniqueOrThrow({ where: { name: 'two-e' } });
    expect(Number((await h.db.leaseTotal.findUniqueOrThrow({ where: { tierId: t.id } })).expired)).toBe(1);
  });
});
