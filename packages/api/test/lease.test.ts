// Generation leases (issue 13 §2) through admission.consume/release/heartbeat, on real SQLite and
// PostgreSQL: exactness under 1,000 concurrent requests, per-subject bounds, release and expiry
// freeing exactly one slot once, heartbeat, the refund of a failed lease, idempotency, validation.
import { TRPCError } from '@trpc/server';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAdmissionMetrics } from '../src/domain/admission/admission-metrics';
import { writeCapacityMetrics } from '../src/domain/capacity/capacity-metrics';
import { MetricsWriter } from '../src/lib/prometheus';
import { createHarness, type THarness } from './harness';

async function err(p: Promise<unknown>): Promise<TRPCError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TRPCError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(TEST_PROVIDERS)('generation leases (%s)', (provider) => {
  let h: THarness;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let gw: Awaited<ReturnType<THarness['caller']>>;
  let n = 0;

  beforeAll(async () => {
    h = await createHarness(provider);
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    gw = await h.caller({ authorization: await h.makeToken('gateway') });
  });
  afterAll(() => h.close());

  async function tier(c: { perTier?: number | null; perSubject?: number | null; day?: number }): Promise<string> {
    const name = `l${++n}-${provider.slice(0, 2)}`;
    await admin.tiers.create({ name });
    if (c.day !== undefined) await admin.tiers.setLimit({ tier: name, window: 'day', limit: c.day });
    await admin.tiers.setConcurrency({ tier: name, perTier: c.perTier ?? null, perSubject: c.perSubject ?? null });
    return name;
  }
  const live = async (name: string) => {
    const t = await h.db.tier.findUniqueOrThrow({ where: { name } });
    return h.db.generationLease.count({ where: { tierId: t.id, releasedAt: null, expiresAt: { gt: new Date() } } });
  };
  const totals = async (name: string) => {
    const t = await h.db.tier.findUniqueOrThrow({ where: { name } });
    const r = await h.db.leaseTotal.findUnique({ where: { tierId: t.id } });
    return r
      ? { acquired: Number(r.acquired), done: Number(r.done), failed: Number(r.failed), expired: Number(r.expired) }
      : null;
  };

  it('a consume without a lease is answered as before, with lease: null', async () => {
    const name = await tier({ day: 5 });
    const r = await gw.admission.consume({ tier: name, subject: 'a' });
    expect(r).toMatchObject({ allowed: true, reason: 'ok', limit: 5, remaining: 4, lease: null });
    expect(r.ticket).toMatch(/^t1\./);
    expect(await h.db.generationLease.count()).toBe(0);
  });

  it('1,000 concurrent lease requests against perTier 37 admit exactly 37', async () => {
    const name = await tier({ perTier: 37, day: 100_000 });
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        gw.admission.consume({ tier: name, subject: `s${i}`, lease: { ttlSeconds: 600 } }),
      ),
    );
    const ok = results.filter((r) => r.allowed);
    expect(ok).toHaveLength(37);
    expect(ok.every((r) => r.lease && typeof r.lease.id === 'string')).toBe(true);
    expect(new Set(ok.map((r) => r.lease!.id)).size).toBe(37);
    const refused = results.filter((r) => !r.allowed);
    expect(refused.every((r) => r.reason === 'concurrency_limit' && r.lease === null)).toBe(true);
    expect(refused[0]!.message).toBe(`${name}: 37 of 37 generations in flight (per tier)`);
    expect(refused[0]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(await live(name)).toBe(37);
    expect(await totals(name)).toMatchObject({ acquired: 37 });
    // The quota was spent exactly by the admitted ones.
    await (h.services.admission.store as { settle?: () => Promise<void> }).settle?.();
    const t = await h.db.tier.findUniqueOrThrow({ where: { name } });
    const used = await h.db.quotaCounter.aggregate({ where: { tierId: t.id }, _sum: { used: true } });
    expect(used._sum.used).toBe(37);
  });

  it('perSubject: one subject holds at most its bound; others are not affected', async () => {
    const name = await tier({ perSubject: 2 });
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        gw.admission.consume({ tier: name, subject: 'busy', lease: { ttlSeconds: 60 } }),
      ),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(2);
    const refused = results.find((r) => !r.allowed)!;
    expect(refused).toMatchObject({ reason: 'concurrency_limit', limit: 2 });
    expect(refused.message).toContain('this subject has 2 of 2 generations in flight (per subject)');
    expect((await gw.admission.consume({ tier: name, subject: 'calm', lease: { ttlSeconds: 60 } })).allowed).toBe(true);
  });

  it('a quota refusal gives the slot back: no lease is held without its quota', async () => {
    const name = await tier({ perTier: 5, day: 1 });
    const a = await gw.admission.consume({ tier: name, subject: 'q', lease: { ttlSeconds: 60 } });
    const b = await gw.admission.consume({ tier: name, subject: 'q', lease: { ttlSeconds: 60 } });
    expect(a.allowed).toBe(true);
    expect(b).toMatchObject({ allowed: false, reason: 'quota_exceeded', lease: null });
    expect(await live(name)).toBe(1);
    expect(await totals(name)).toMatchObject({ acquired: 1 });
  });

  it('release frees exactly one slot, once; a second release says already_released; unknown is NOT_FOUND', async () => {
    const name = await tier({ perTier: 1 });
    const a = await gw.admission.consume({ tier: name, subject: 'x', lease: { ttlSeconds: 60 } });
    expect(a.allowed).toBe(true);
    expect((await gw.admission.consume({ tier: name, subject: 'y', lease: { ttlSeconds: 60 } })).reason).toBe(
      'concurrency_limit',
    );
    // Ten releases of one lease at once: one frees the slot.
    const releases = await Promise.all(
      Array.from({ length: 10 }, () => gw.admission.release({ lease: a.lease!.id, outcome: 'done' })),
    );
    expect(releases.filter((r) => r.released)).toHaveLength(1);
    expect(releases.filter((r) => !r.released).every((r) => r.reason === 'already_released')).toBe(true);
    expect(await totals(name)).toMatchObject({ acquired: 1, done: 1 });
    // Exactly one slot came back: two new requests at once, one admitted.
    const next = await Promise.all(
      ['p', 'q'].map((s) => gw.admission.consume({ tier: name, subject: s, lease: { ttlSeconds: 60 } })),
    );
    expect(next.filter((r) => r.allowed)).toHaveLength(1);
    const e = await err(gw.admission.release({ lease: 'l_nope', outcome: 'done' }));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain('lease l_nope: no such lease');
  });

  it('expiry frees the slot at expiresAt, is counted once, and a late release says expired', async () => {
    const name = await tier({ perTier: 1 });
    const a = await gw.admission.consume({ tier: name, subject: 'x', lease: { ttlSeconds: 1 } });
    expect(a.allowed).toBe(true);
    const expiresAt = Date.parse(a.lease!.expiresAt);
    expect(expiresAt).toBeGreaterThan(Date.now());
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 1100);
    expect((await gw.admission.consume({ tier: name, subject: 'y', lease: { ttlSeconds: 1 } })).allowed).toBe(false);
    await sleep(Math.max(0, expiresAt - Date.now()) + 150);
    const b = await gw.admission.consume({ tier: name, subject: 'y', lease: { ttlSeconds: 60 } });
    expect(b.allowed).toBe(true);
    const late = await gw.admission.release({ lease: a.lease!.id, outcome: 'done' });
    expect(late).toMatchObject({ released: false, reason: 'expired' });
    // Two sweeps at once (two instances, say) count it once; a later one adds nothing.
    await Promise.all([h.services.admission.leases.sweep(), h.services.admission.leases.sweep()]);
    await h.services.admission.leases.sweep();
    expect(await totals(name)).toMatchObject({ acquired: 2, expired: 1, done: 0 });
    const row = await h.db.generationLease.findUniqueOrThrow({ where: { id: a.lease!.id } });
    expect(row.outcome).toBe('expired');
    expect(row.releasedAt!.getTime()).toBe(row.expiresAt.getTime());
    // After the sweep a release still says expired (not already_released).
    expect((await gw.admission.release({ lease: a.lease!.id, outcome: 'done' })).reason).toBe('expired');
    // /metrics: the expiry once, and b in flight.
    const m = new MetricsWriter();
    await writeCapacityMetrics({ db: h.db, now: new Date(), instanceId: 'test', offlineAfterMs: 120_000, m });
    expect(m.toString()).toContain(`coolant_lease_expired_total{tier="${name}"} 1\n`);
    expect(m.toString()).toContain(`coolant_tier_inflight{tier="${name}"} 1\n`);
  });

  it('heartbeat extends a lease; without ttlSeconds it gets its last TTL again; a released one says so', async () => {
    const name = await tier({ perTier: 1 });
    const a = await gw.admission.consume({ tier: name, subject: 'x', lease: { ttlSeconds: 1 } });
    const hb = await gw.admission.heartbeat({ lease: a.lease!.id, ttlSeconds: 30 });
    expect(hb.extended).toBe(true);
    expect(Date.parse(hb.expiresAt!)).toBeGreaterThan(Date.now() + 25_000);
    await sleep(1200);
    // Still held after its first TTL.
    expect((await gw.admission.consume({ tier: name, subject: 'y', lease: { ttlSeconds: 1 } })).reason).toBe(
      'concurrency_limit',
    );
    const again = await gw.admission.heartbeat({ lease: a.lease!.id });
    expect(Date.parse(again.expiresAt!) - Date.now()).toBeGreaterThan(25_000);
    expect(Date.parse(again.expiresAt!) - Date.now()).toBeLessThanOrEqual(30_500);
    await gw.admission.release({ lease: a.lease!.id, outcome: 'done' });
    expect(await gw.admission.heartbeat({ lease: a.lease!.id })).toMatchObject({
      extended: false,
      reason: 'already_released',
      expiresAt: null,
    });
    expect((await err(gw.admission.heartbeat({ lease: 'l_none' }))).code).toBe('NOT_FOUND');
  });

  it('a failed release refunds the quota once; the ticket cannot refund it again', async () => {
    const name = await tier({ day: 2 });
    const a = await gw.admission.consume({ tier: name, subject: 'f', lease: { ttlSeconds: 60 } });
    expect(a).toMatchObject({ allowed: true, remaining: 1 });
    const rel = await gw.admission.release({ lease: a.lease!.id, outcome: 'failed' });
    expect(rel).toMatchObject({ released: true, outcome: 'failed', refunded: true });
    expect(await gw.admission.refund({ ticket: a.ticket! })).toMatchObject({
      refunded: false,
      reason: 'already_refunded',
    });
    expect(await gw.admission.release({ lease: a.lease!.id, outcome: 'failed' })).toMatchObject({
      released: false,
      reason: 'already_released',
    });
    // Two units again, not three.
    const more = await Promise.all([1, 2, 3].map(() => gw.admission.consume({ tier: name, subject: 'f' })));
    expect(more.filter((r) => r.allowed)).toHaveLength(2);
    expect(await totals(name)).toMatchObject({ acquired: 1, failed: 1 });
    // A ticket refunded first: the failed release then refunds nothing.
    const name2 = await tier({ day: 1 });
    const b = await gw.admission.consume({ tier: name2, subject: 'g', lease: { ttlSeconds: 60 } });
    expect((await gw.admission.refund({ ticket: b.ticket! })).refunded).toBe(true);
    expect(await gw.admission.release({ lease: b.lease!.id, outcome: 'failed' })).toMatchObject({
      released: true,
      refunded: false,
    });
  });

  it("a failed release also gives back to the tier's own counter when a tier-wide limit applied", async () => {
    const name = await tier({ day: 5 });
    await admin.tiers.setLimit({ tier: name, window: 'day', limit: 2, scope: 'tier' });
    const a = await gw.admission.consume({ tier: name, subject: 'one', lease: { ttlSeconds: 60 } });
    expect(a.allowed).toBe(true);
    expect(await gw.admission.release({ lease: a.lease!.id, outcome: 'failed' })).toMatchObject({ refunded: true });
    const after = await Promise.all(
      ['two', 'three', 'four'].map((subject) => gw.admission.consume({ tier: name, subject })),
    );
    expect(after.map((r) => r.reason).sort()).toEqual(['ok', 'ok', 'tier_limit']);
  });

  it('a requestId answers the same lease to every retry, and holds one slot', async () => {
    const name = await tier({ perTier: 3 });
    const input = { tier: name, subject: 'r', requestId: `req-${provider}-${n}`, lease: { ttlSeconds: 60 } };
    const answers = await Promise.all(Array.from({ length: 20 }, () => gw.admission.consume(input)));
    const later = await gw.admission.consume(input);
    expect(new Set([...answers, later].map((r) => r.lease?.id)).size).toBe(1);
    expect(later.allowed).toBe(true);
    expect(await live(name)).toBe(1);
    // The same requestId without a lease is another request.
    const e = await err(gw.admission.consume({ tier: name, subject: 'r', requestId: input.requestId }));
    expect(e.code).toBe('CONFLICT');
  });

  it('TTL and lease ids are validated with errors naming the field', async () => {
    const name = await tier({});
    for (const [ttl, text] of [
      [0, 'lease.ttlSeconds must be at least 1 s'],
      [3601, 'lease.ttlSeconds must be at most 3600 s'],
      [1.5, 'lease.ttlSeconds must be a whole number of seconds'],
    ] as const) {
      const e = await err(gw.admission.consume({ tier: name, subject: 'v', lease: { ttlSeconds: ttl } }));
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message).toContain(text);
    }
    const bad = await err(gw.admission.release({ lease: 'x', outcome: 'maybe' as 'done' }));
    expect(bad.message).toContain("outcome must be 'done' or 'failed'");
    expect((await err(gw.admission.heartbeat({ lease: 'x', ttlSeconds: 0 }))).message).toContain(
      'ttlSeconds must be at least 1 s',
    );
    expect(await h.db.generationLease.count({ where: { subject: 'v' } })).toBe(0);
  });

  it('refusals are counted per tier, minute and reason in AdmissionRefusalStat', async () => {
    const name = await tier({ perTier: 1, day: 100 });
    await gw.admission.consume({ tier: name, subject: 'a', lease: { ttlSeconds: 60 } });
    for (let i = 0; i < 4; i++) await gw.admission.consume({ tier: name, subject: `b${i}`, lease: { ttlSeconds: 60 } });
    await h.services.admission.flushStats();
    const rows = await h.db.admissionRefusalStat.findMany({ where: { tierName: name } });
    expect(rows).toEqual([{ tierName: name, minute: expect.any(Number), reason: 'concurrency_limit', count: 4 }]);
    expect(Math.abs(rows[0]!.minute - Math.floor(Date.now() / 60_000))).toBeLessThanOrEqual(1);
    const m = new MetricsWriter();
    writeAdmissionMetrics(h.services, m);
    expect(m.toString()).toContain(
      `coolant_admission_decisions_total{tier="${name}",decision="denied",reason="concurrency_limit"} 4\n`,
    );
  });
});
