import { TRPCError } from '@trpc/server';
import { openRawSql, type TSqliteRaw } from '@coolant/db';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

const DAY0 = Date.parse('2026-11-27T10:00:00Z');

describe.each(TEST_PROVIDERS)('admission (%s)', (provider) => {
  let h: THarness;
  let clock = DAY0;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let gw: Awaited<ReturnType<THarness['caller']>>;
  let n = 0;
  const tierName = () => `t${++n}-${provider.slice(0, 2)}`;

  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    gw = await h.caller({ authorization: await h.makeToken('gateway') });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    clock = DAY0;
  });

  /** SQLite's store appends deltas and folds them into QuotaCounter later: fold what is there before reading the table. */
  const settled = () => (h.services.admission.store as { settle?: () => Promise<void> }).settle?.();

  async function tierWith(limits: Partial<Record<'minute' | 'hour' | 'day', number>>): Promise<string> {
    const name = tierName();
    await admin.tiers.create({ name });
    for (const [window, limit] of Object.entries(limits))
      await admin.tiers.setLimit({ tier: name, window: window as 'day', limit });
    return name;
  }

  it("seeds free/plus/pro/team with free at 3 a day, and reports each tier's fail mode", async () => {
    const { tiers } = await admin.tiers.list();
    expect(tiers.map((t) => t.name)).toEqual(expect.arrayContaining(['free', 'plus', 'pro', 'team']));
    const free = tiers.find((t) => t.name === 'free')!;
    expect(free.limits.find((l) => l.window === 'day')).toMatchObject({ base: 3, effective: 3 });
    expect(free.failMode).toBe('closed');
    const r = await gw.admission.consume({ tier: 'free', subject: 'alice' });
    expect(r).toMatchObject({
      allowed: true,
      reason: 'ok',
      limit: 3,
      remaining: 2,
      window: 'day',
      resetAt: '2026-11-28T00:00:00.000Z',
    });
    expect(r.ticket).toMatch(/^t1\./);
  });

  it('1,000 concurrent consumes for one subject admit exactly the limit', async () => {
    const tier = await tierWith({ day: 37 });
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => gw.admission.consume({ tier, subject: 'racer' })),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(37);
    expect(results.filter((r) => !r.allowed).every((r) => r.reason === 'quota_exceeded')).toBe(true);
    await settled();
    const row = await h.db.quotaCounter.findFirst({ where: { subject: 'racer' } });
    expect(row?.used).toBe(37);
  });

  it('several limits: a request consumes from all of them or from none', async () => {
    const tier = await tierWith({ minute: 2, day: 3 });
    expect((await gw.admission.consume({ tier, subject: 's' })).allowed).toBe(true);
    expect((await gw.admission.consume({ tier, subject: 's' })).allowed).toBe(true);
    const third = await gw.admission.consume({ tier, subject: 's' });
    expect(third).toMatchObject({
      allowed: false,
      reason: 'quota_exceeded',
      window: 'minute',
      limit: 2,
      remaining: 0,
      retryAfterSeconds: 60,
    });
    // The refused request took nothing from the day window.
    await settled();
    const day = await h.db.quotaCounter.findFirst({
      where: { subject: 's', window: 'day', tierId: (await h.db.tier.findUniqueOrThrow({ where: { name: tier } })).id },
    });
    expect(day?.used).toBe(2);
    clock += 60_000;
    expect(await gw.admission.consume({ tier, subject: 's' })).toMatchObject({
      allowed: true,
      window: 'day',
      remaining: 0,
    });
    const refused = await gw.admission.consume({ tier, subject: 's' });
    expect(refused).toMatchObject({ allowed: false, window: 'day' });
    expect(refused.policies.map((p) => p.window).sort()).toEqual(['day', 'minute']);
    // Another subject has its own counters.
    expect((await gw.admission.consume({ tier, subject: 'other' })).allowed).toBe(true);
  });

  it('the window resets at the UTC boundary', async () => {
    const tier = await tierWith({ day: 1 });
    expect((await gw.admission.consume({ tier, subject: 'w' })).allowed).toBe(true);
    const denied = await gw.admission.consume({ tier, subject: 'w' });
    expect(denied.resetAt).toBe('2026-11-28T00:00:00.000Z');
    expect(denied.retryAfterSeconds).toBe(14 * 3600);
    clock = Date.parse('2026-11-28T00:00:00Z');
    expect((await gw.admission.consume({ tier, subject: 'w' })).allowed).toBe(true);
  });

  it('is idempotent on requestId, also for concurrent retries', async () => {
    const tier = await tierWith({ day: 5 });
    const first = await gw.admission.consume({ tier, subject: 'i', requestId: 'req-1' });
    const again = await gw.admission.consume({ tier, subject: 'i', requestId: 'req-1' });
    expect(again).toEqual(first);
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => gw.admission.consume({ tier, subject: 'i', requestId: 'req-2' })),
    );
    expect(new Set(burst.map((r) => JSON.stringify(r))).size).toBe(1);
    const next = await gw.admission.consume({ tier, subject: 'i' });
    expect(next.remaining).toBe(2);
  });

  it('refunds a ticket once', async () => {
    const tier = await tierWith({ day: 2 });
    const a = await gw.admission.consume({ tier, subject: 'r', cost: 2 });
    expect(a.remaining).toBe(0);
    expect(await gw.admission.refund({ ticket: a.ticket! })).toEqual({ refunded: true, reason: 'ok' });
    expect(await gw.admission.refund({ ticket: a.ticket! })).toEqual({ refunded: false, reason: 'already_refunded' });
    expect((await gw.admission.consume({ tier, subject: 'r' })).remaining).toBe(1);
    const forged = a.ticket!.slice(0, -3) + 'xyz';
    expect((await err(gw.admission.refund({ ticket: forged }))).code).toBe('BAD_REQUEST');
  });

  it('editing a limit keeps what was spent in the current window', async () => {
    const tier = await tierWith({ day: 3 });
    await gw.admission.consume({ tier, subject: 'e', cost: 2 });
    await admin.tiers.setLimit({ tier, window: 'day', limit: 5, reason: 'capacity added' });
    expect((await gw.admission.consume({ tier, subject: 'e' })).remaining).toBe(2);
  });

  it('a temporary limit overrides the base and reverts by itself at until', async () => {
    const tier = await tierWith({ day: 3 });
    await admin.tiers.setTemporaryLimit({
      tier,
      window: 'day',
      limit: 1,
      until: new Date(clock + 3600_000).toISOString(),
      reason: 'launch surge',
    });
    const listed = (await admin.tiers.list()).tiers.find((t) => t.name === tier)!;
    expect(listed.limits.find((l) => l.window === 'day')).toMatchObject({
      base: 3,
      effective: 1,
      temporary: { limit: 1, secondsLeft: 3600 },
    });
    expect(await gw.admission.consume({ tier, subject: 't' })).toMatchObject({ allowed: true, limit: 1, remaining: 0 });
    expect((await gw.admission.consume({ tier, subject: 't' })).allowed).toBe(false);
    clock += 3600_000; // nothing runs: the decision itself sees the temporary limit has ended
    expect(await gw.admission.consume({ tier, subject: 't' })).toMatchObject({ allowed: true, limit: 3, remaining: 1 });
    expect(
      (
        await err(
          admin.tiers.setTemporaryLimit({
            tier,
            window: 'day',
            limit: 1,
            until: new Date(clock + 60_000).toISOString(),
          } as never),
        )
      ).message,
    ).toContain('reason');
  });

  it('pause denies at once, with Retry-After pointing at resumeAt; a scheduled resume happens by itself and is audited', async () => {
    const tier = await tierWith({ day: 100 });
    const op = await h.caller({ authorization: await h.makeToken('operator') });
    expect((await err(op.tiers.pause({ tier } as never))).message).toContain('reason');
    await op.tiers.pause({ tier, reason: 'GPUs melting', resumeAt: new Date(clock + 600_000).toISOString() });
    const denied = await gw.admission.consume({ tier, subject: 'p' });
    expect(denied).toMatchObject({
      allowed: false,
      reason: 'tier_paused',
      retryAfterSeconds: 600,
      pauseReason: 'GPUs melting',
    });
    const listed = (await admin.tiers.list()).tiers.find((t) => t.name === tier)!;
    expect(listed.paused).toBe(true);
    expect(listed.pause?.propagation?.appliedByAll).toBe(true);
    clock += 600_000;
    expect((await gw.admission.consume({ tier, subject: 'p' })).allowed).toBe(true);
    expect(await h.services.config.resumeDuePauses()).toEqual([tier]);
    const audit = await admin.audit.list({ target: tier, action: 'tier.' });
    const actions = audit.events.map((e) => `${e.action}:${e.actorName}`);
    expect(actions).toEqual(expect.arrayContaining(['tier.pause:t-operator', 'tier.resume:scheduler']));
    const pause = audit.events.find((e) => e.action === 'tier.pause')!;
    expect(pause.reason).toBe('GPUs melting');
    expect(pause.details).toMatchObject({ before: { paused: false }, after: { resumeAt: expect.any(String) } });
  });

  it('manual pause and resume', async () => {
    const tier = await tierWith({});
    await admin.tiers.pause({ tier, reason: 'maintenance' });
    expect(await gw.admission.consume({ tier, subject: 'm' })).toMatchObject({
      allowed: false,
      reason: 'tier_paused',
      retryAfterSeconds: null,
    });
    await admin.tiers.resume({ tier, reason: 'done' });
    expect(await gw.admission.consume({ tier, subject: 'm' })).toMatchObject({
      allowed: true,
      limit: null,
      remaining: null,
    });
    expect((await err(admin.tiers.resume({ tier }))).code).toBe('CONFLICT');
  });

  it('unknown and retired tiers are refused with unknown_tier', async () => {
    expect(await gw.admission.consume({ tier: 'nope', subject: 'x' })).toMatchObject({
      allowed: false,
      reason: 'unknown_tier',
    });
    const tier = await tierWith({ day: 1 });
    await admin.tiers.update({ tier, retired: true, reason: 'sunset' });
    expect(await gw.admission.consume({ tier, subject: 'x' })).toMatchObject({
      allowed: false,
      reason: 'unknown_tier',
    });
  });

  it('bad input gets BAD_REQUEST naming the field and consumes nothing', async () => {
    const tier = await tierWith({ day: 10 });
    const cases: [unknown, string][] = [
      [{ tier, subject: 'b', extra: 1 }, 'extra'],
      [{ tier, subject: 'b', cost: -1 }, 'cost'],
      [{ tier, subject: 'b', cost: 1e9 }, 'cost'],
      [{ tier, subject: 'b', cost: 1.5 }, 'cost'],
      [{ tier, subject: '' }, 'subject'],
      [{ tier, subject: 'é'.repeat(129) }, 'subject'],
      [{ subject: 'b' }, 'tier'],
    ];
    for (const [input, field] of cases) {
      const e = await err(gw.admission.consume(input as never));
      expect(e.code, JSON.stringify(input)).toBe('BAD_REQUEST');
      expect(e.message, JSON.stringify(input)).toContain(field);
    }
    await settled();
    expect(await h.db.quotaCounter.count({ where: { subject: 'b' } })).toBe(0);
    expect((await gw.admission.consume({ tier, subject: 'b', cost: 11 })).reason).toBe('quota_exceeded');
  });

  it('answers UNAVAILABLE (503), never a silent allow, when the database refuses writes', async () => {
    const tier = await tierWith({ day: 10 });
    expect((await gw.admission.consume({ tier, subject: 'u' })).allowed).toBe(true);
    // SQLite: another process holds the write lock for longer than the store waits; PostgreSQL: the table is gone.
    const locker = provider === 'sqlite' ? (openRawSql(h.testDb.config) as TSqliteRaw) : null;
    if (locker) locker.exec('BEGIN IMMEDIATE');
    else await h.db.$executeRawUnsafe('ALTER TABLE "QuotaCounter" RENAME TO "QuotaCounterGone"');
    try {
      const e = await err(gw.admission.consume({ tier, subject: 'u' }));
      expect(e.code).toBe('SERVICE_UNAVAILABLE');
      expect(e.message).toContain('database unavailable');
    } finally {
      if (locker) {
        locker.exec('ROLLBACK');
        locker.close();
      } else await h.db.$executeRawUnsafe('ALTER TABLE "QuotaCounterGone" RENAME TO "QuotaCounter"');
    }
    // The refused decision was rolled back: one unit spent, not two.
    expect((await gw.admission.consume({ tier, subject: 'u' })).remaining).toBe(8);
  });

  it('prunes counters of ended windows', async () => {
    const tier = await tierWith({ minute: 5 });
    for (let i = 0; i < 20; i++) await gw.admission.consume({ tier, subject: `p${i}` });
    const tierId = (await h.db.tier.findUniqueOrThrow({ where: { name: tier } })).id;
    await settled();
    expect(await h.db.quotaCounter.count({ where: { tierId } })).toBe(20);
    clock += 120_000;
    await h.services.admission.store.prune(new Date(clock));
    expect(await h.db.quotaCounter.count({ where: { tierId } })).toBe(0);
  });
});
