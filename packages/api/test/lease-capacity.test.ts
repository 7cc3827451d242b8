// The capacity rule applied through admission.consume with a lease (issue 13 §3), on real SQLite
// and PostgreSQL: a tier within its reservation, borrowing what higher tiers do not use, never the
// part they reserved; over_capacity with retryAfterSeconds and the message; capacity unknown decided
// by the tier's failMode; a shrinking C revokes nothing. C is the CapacitySnapshot row, written here.
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateRetryAfterSeconds } from '../src/domain/capacity/capacity-rule';
import { createHarness, type THarness } from './harness';

describe.each(TEST_PROVIDERS)('capacity through leases (%s)', (provider) => {
  let h: THarness;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let gw: Awaited<ReturnType<THarness['caller']>>;
  const hi = `hi-${provider.slice(0, 2)}`;
  const lo = `lo-${provider.slice(0, 2)}`;
  const open = `op-${provider.slice(0, 2)}`;

  async function setC(slots: number, opts: { ageMs?: number; hotGpus?: number; nodesOffline?: number } = {}) {
    const data = {
      seq: 1,
      computedAt: new Date(Date.now() - (opts.ageMs ?? 0)),
      computedBy: 'test',
      state: 'ok',
      slots,
      usableGpus: Math.ceil(slots),
      hotGpus: opts.hotGpus ?? 0,
      gpusTotal: Math.ceil(slots),
      nodesOnline: 1,
      nodesOffline: opts.nodesOffline ?? 0,
      gpusUnusable: 0,
      telemetryAt: new Date(),
    };
    await h.db.capacitySnapshot.upsert({ where: { id: 1 }, create: { id: 1, ...data }, update: data });
  }
  const take = (tier: string, subject: string) => gw.admission.consume({ tier, subject, lease: { ttlSeconds: 600 } });
  type TAnswer = Awaited<ReturnType<typeof take>>;
  const releaseAll = async (ids: (string | undefined)[]) => {
    for (const id of ids) if (id) await gw.admission.release({ lease: id, outcome: 'done' });
  };

  beforeAll(async () => {
    h = await createHarness(provider);
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    gw = await h.caller({ authorization: await h.makeToken('gateway') });
    for (const name of [hi, lo, open]) await admin.tiers.create({ name, failMode: name === open ? 'open' : 'closed' });
    await admin.capacity.configure({
      enabled: true,
      shares: [
        { tier: hi, priority: 2, reserved: 0.5 },
        { tier: lo, priority: 0, reserved: 0.1 },
      ],
      reason: 'lease tests',
    });
  });
  afterAll(() => h.close());

  it('lo borrows what hi does not use, never the part hi reserved; hi then fills its reservation and the rest', async () => {
    await setC(10);
    // R(hi) = 5, R(lo) = 1: lo gets its 1 and borrows while sum in + H(lo) < C, H(lo) = 5 - in(hi).
    const los: TAnswer[] = [];
    for (let i = 0; i < 8; i++) los.push(await take(lo, `lo${i}`));
    expect(los.filter((r) => r.allowed)).toHaveLength(5);
    const refused = los.find((r) => !r.allowed)!;
    expect(refused).toMatchObject({ reason: 'over_capacity', lease: null, limit: 10 });
    expect(refused.message).toBe(`${lo}: 5 of 10 slots, reserved 10 %`);
    expect(refused.retryAfterSeconds).toBe(5); // nothing observed yet: the default
    // hi is never kept out of its reservation by lo's borrowing, and may use the rest of the fleet.
    const his: TAnswer[] = [];
    for (let i = 0; i < 7; i++) his.push(await take(hi, `hi${i}`));
    expect(his.filter((r) => r.allowed)).toHaveLength(5);
    expect(his.find((r) => !r.allowed)).toMatchObject({ reason: 'over_capacity' });
    const view = await admin.capacity.get();
    expect(view.tiers.find((t) => t.tier === lo)).toMatchObject({ inflight: 5, reservedSlots: 1, borrowed: 4 });
    expect(view.inflight).toBe(10);
    // One lo lease ends: hi is at R(hi), so H(lo) = 0 and lo may take the freed slot back.
    await gw.admission.release({ lease: los[0]!.lease!.id, outcome: 'done' });
    const again = await take(lo, 'lo-again');
    expect(again.allowed).toBe(true);
    await releaseAll([...los, ...his, again].map((r) => r.lease?.id).filter((id) => id !== los[0]!.lease!.id));
  });

  it('retryAfterSeconds follows the observed lease durations; the message names hot GPUs and offline nodes', async () => {
    // hi has the highest priority: nothing is held back from it, it may take the whole fleet.
    await setC(2, { hotGpus: 2, nodesOffline: 1 });
    const a = await take(hi, 'd1');
    const b = await take(hi, 'd2');
    expect([a.allowed, b.allowed]).toEqual([true, true]);
    const c = await take(hi, 'd3');
    expect(c.reason).toBe('over_capacity');
    expect(c.message).toBe(`${hi}: 2 of 2 slots, reserved 50 %; 2 GPUs hot, 1 node offline`);
    await new Promise((r) => setTimeout(r, 300));
    await gw.admission.release({ lease: a.lease!.id, outcome: 'done' });
    const d = await take(hi, 'd4');
    expect(d.allowed).toBe(true);
    const e = await take(hi, 'd5');
    const typical = h.services.admission.leases.durations.typical({
      tierId: (await h.db.tier.findUniqueOrThrow({ where: { name: hi } })).id,
      nowMs: Date.now(),
    });
    // The median of hi's leases released so far (the first test's and the one held 300 ms here).
    expect(typical).not.toBeNull();
    expect(e).toMatchObject({
      reason: 'over_capacity',
      retryAfterSeconds: estimateRetryAfterSeconds({ needed: 1, inflight: 2, typicalDurationMs: typical }),
    });
    await releaseAll([b, d].map((r) => r.lease?.id));
  });

  it('C shrinking revokes nothing: leases held stay, new ones wait until the tier drains to its share', async () => {
    await setC(10);
    const held: TAnswer[] = [];
    for (let i = 0; i < 5; i++) held.push(await take(lo, `s${i}`));
    expect(held.every((r) => r.allowed)).toBe(true);
    await setC(4);
    // Nothing admitted now (sum in = 5 >= C), and the five are still live.
    expect((await take(lo, 'late')).reason).toBe('over_capacity');
    expect((await admin.capacity.get()).tiers.find((t) => t.tier === lo)!.inflight).toBe(5);
    for (const r of held.slice(0, 4)) await gw.admission.release({ lease: r.lease!.id, outcome: 'done' });
    // in(lo) = 1 = R(lo) now (ceil(0.1 x 4)); sum in + H(lo) = 1 + 2 = 3 < 4: one more by borrowing.
    const one = await take(lo, 'after');
    expect(one.allowed).toBe(true);
    expect((await take(lo, 'after2')).reason).toBe('over_capacity');
    await releaseAll([held[4], one].map((r) => r!.lease?.id));
  });

  it('capacity unknown: a closed tier is refused with capacity_unknown, an open one is served', async () => {
    await setC(10, { ageMs: 10 * 60_000 });
    const closed = await take(lo, 'u1');
    expect(closed).toMatchObject({ allowed: false, reason: 'capacity_unknown', lease: null, retryAfterSeconds: 5 });
    expect(closed.message).toMatch(
      /fleet capacity unknown \(capacity last measured \d+ s ago\); the tier fails closed/,
    );
    const served = await take(open, 'u2');
    expect(served.allowed).toBe(true);
    await releaseAll([served.lease?.id]);
  });

  it('with capacity disabled only quotas and concurrency apply, whatever C says', async () => {
    await setC(0);
    await admin.capacity.configure({ enabled: false, reason: 'off' });
    const r = await take(lo, 'off');
    expect(r.allowed).toBe(true);
    await releaseAll([r.lease?.id]);
  });
});
