// Limit scopes (subject | tier) and concurrency bounds on the write side: tiers.setLimit,
// setTemporaryLimit, clearTemporaryLimit and setConcurrency against real SQLite and PostgreSQL,
// read back through tiers.list and the audit log.
import { TRPCError } from '@trpc/server';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const T0 = Date.parse('2026-11-27T10:00:00Z');

describe.each(TEST_PROVIDERS)('tier limit scopes and concurrency (%s)', (provider) => {
  let h: THarness;
  const clock = T0;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let operator: Awaited<ReturnType<THarness['caller']>>;
  let n = 0;

  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    operator = await h.caller({ authorization: await h.makeToken('operator') });
  });
  afterAll(() => h.close());

  async function newTier() {
    const name = `s${++n}-${provider.slice(0, 2)}`;
    await admin.tiers.create({ name });
    return name;
  }
  const listed = async (tier: string) => (await admin.tiers.list()).tiers.find((t) => t.name === tier)!;
  const audits = async (tier: string, action: string) =>
    (await admin.audit.list({ target: tier, action, limit: 50 })).events;

  it('a subject and a tier limit on the same window are two rows: set, shown, cleared and audited by scope', async () => {
    const tier = await newTier();
    await admin.tiers.setLimit({ tier, window: 'minute', limit: 10 });
    const set = await admin.tiers.setLimit({ tier, window: 'minute', limit: 2000, scope: 'tier', reason: 'launch' });
    // The tier limit's before is its own scope's (none), not the subject limit of the same window.
    expect(set).toMatchObject({ scope: 'tier', before: null, limit: 2000 });
    const rows = await h.db.tierLimit.findMany({ where: { tier: { name: tier } }, orderBy: { scope: 'asc' } });
    expect(rows.map((r) => [r.window, r.scope, r.limit])).toEqual([
      ['minute', 'subject', 10],
      ['minute', 'tier', 2000],
    ]);
    const t = await listed(tier);
    expect(t.limits.map((l) => `${l.scope}/${l.window}=${l.base}`)).toEqual([
      'subject/minute=10',
      'subject/hour=null',
      'subject/day=null',
      'tier/minute=2000',
    ]);
    expect(t.limits.find((l) => l.scope === 'tier')).toMatchObject({ effective: 2000, temporary: null });

    // Editing one scope leaves the other: the subject limit's before is 10, the tier one stays 2000.
    expect(await admin.tiers.setLimit({ tier, window: 'minute', limit: 12 })).toMatchObject({
      scope: 'subject',
      before: 10,
    });
    expect(await admin.tiers.setLimit({ tier, window: 'minute', limit: null, scope: 'tier' })).toMatchObject({
      before: 2000,
      limit: null,
    });
    expect((await listed(tier)).limits.map((l) => `${l.scope}/${l.window}=${l.base}`)).toEqual([
      'subject/minute=12',
      'subject/hour=null',
      'subject/day=null',
    ]);
    const a = await audits(tier, 'tier.set_limit');
    expect(a.map((e) => e.details)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ window: 'minute', scope: 'tier', before: null, after: 2000 }),
        expect.objectContaining({ window: 'minute', scope: 'tier', before: 2000, after: null }),
        expect.objectContaining({ window: 'minute', scope: 'subject', before: 10, after: 12 }),
      ]),
    );
    expect(a.find((e) => (e.details as { after: unknown }).after === 2000)?.reason).toBe('launch');
  });

  it('temporary limits per scope: a tier-scope one neither replaces nor is cleared with the subject one', async () => {
    const tier = await newTier();
    await admin.tiers.setLimit({ tier, window: 'day', limit: 3 });
    await admin.tiers.setLimit({ tier, window: 'day', limit: 50_000, scope: 'tier' });
    const until = new Date(clock + 3_600_000).toISOString();
    await operator.tiers.setTemporaryLimit({ tier, window: 'day', limit: 1, until, reason: 'subject surge' });
    const tmp = await operator.tiers.setTemporaryLimit({
      tier,
      window: 'day',
      limit: 10_000,
      until,
      reason: 'tier surge',
      scope: 'tier',
    });
    expect(tmp).toMatchObject({ scope: 'tier', limit: 10_000 });
    const live = await h.db.temporaryLimit.findMany({ where: { tier: { name: tier }, clearedAt: null } });
    expect(live.map((l) => [l.scope, l.limit]).sort()).toEqual([
      ['subject', 1],
      ['tier', 10_000],
    ]);
    const day = (await listed(tier)).limits.filter((l) => l.window === 'day');
    expect(day).toMatchObject([
      { scope: 'subject', base: 3, effective: 1, temporary: { limit: 1, reason: 'subject surge' } },
      { scope: 'tier', base: 50_000, effective: 10_000, temporary: { limit: 10_000, reason: 'tier surge' } },
    ]);
    // The audit's "before" is the base of the same scope.
    const setAudit = (await audits(tier, 'tier.set_temporary_limit')).map((e) => e.details);
    expect(setAudit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ scope: 'tier', before: { base: 50_000 } }),
        expect.objectContaining({ scope: 'subject', before: { base: 3 } }),
      ]),
    );

    // A second tier-scope one replaces only the tier-scope one.
    await operator.tiers.setTemporaryLimit({
      tier,
      window: 'day',
      limit: 8000,
      until,
      reason: 'tighter',
      scope: 'tier',
    });
    const after = await h.db.temporaryLimit.findMany({ where: { tier: { name: tier }, clearedAt: null } });
    expect(after.map((l) => [l.scope, l.limit]).sort()).toEqual([
      ['subject', 1],
      ['tier', 8000],
    ]);

    // Clearing by scope.
    expect(await operator.tiers.clearTemporaryLimit({ tier, window: 'day', scope: 'tier' })).toMatchObject({
      scope: 'tier',
      cleared: true,
    });
    const e = await err(operator.tiers.clearTemporaryLimit({ tier, window: 'day', scope: 'tier' }));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain('scope tier');
    expect((await listed(tier)).limits.filter((l) => l.window === 'day')).toMatchObject([
      { scope: 'subject', effective: 1 },
      { scope: 'tier', effective: 50_000, temporary: null },
    ]);
    const cleared = (await audits(tier, 'tier.clear_temporary_limit')).map((x) => x.details);
    expect(cleared).toEqual([
      expect.objectContaining({ scope: 'tier', before: expect.objectContaining({ limit: 8000 }) }),
    ]);
    // The default scope clears the subject one.
    await operator.tiers.clearTemporaryLimit({ tier, window: 'day' });
    expect(await h.db.temporaryLimit.count({ where: { tier: { name: tier }, clearedAt: null } })).toBe(0);
  });

  it('a bad scope is a BAD_REQUEST that names it', async () => {
    const tier = await newTier();
    for (const p of [
      admin.tiers.setLimit({ tier, window: 'day', limit: 1, scope: 'global' as never }),
      operator.tiers.setTemporaryLimit({
        tier,
        window: 'day',
        limit: 1,
        until: new Date(clock + 60_000).toISOString(),
        reason: 'x',
        scope: 'everyone' as never,
      }),
      operator.tiers.clearTemporaryLimit({ tier, window: 'day', scope: 3 as never }),
    ]) {
      const e = await err(p);
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message).toMatch(/scope must be "subject" or "tier", not ("global"|"everyone"|3)/);
    }
    expect(await h.db.tierLimit.count({ where: { tier: { name: tier } } })).toBe(0);
  });

  it('setConcurrency: both bounds, null = unbounded, an omitted one kept; shown by tiers.list, audited with reason', async () => {
    const tier = await newTier();
    expect((await listed(tier)).concurrency).toEqual({ perTier: null, perSubject: null });
    const r = await admin.tiers.setConcurrency({ tier, perTier: 400, perSubject: 1, reason: 'launch day' });
    expect(r).toMatchObject({
      before: { perTier: null, perSubject: null },
      concurrency: { perTier: 400, perSubject: 1 },
    });
    expect((await listed(tier)).concurrency).toEqual({ perTier: 400, perSubject: 1 });
    await admin.tiers.setConcurrency({ tier, perTier: null });
    expect((await listed(tier)).concurrency).toEqual({ perTier: null, perSubject: 1 });
    const row = await h.db.tier.findUniqueOrThrow({ where: { name: tier } });
    expect([row.concurrencyPerTier, row.concurrencyPerSubject]).toEqual([null, 1]);
    const a = await audits(tier, 'tier.set_concurrency');
    expect(a.map((e) => [e.reason, e.details])).toEqual([
      [
        null,
        expect.objectContaining({ before: { perTier: 400, perSubject: 1 }, after: { perTier: null, perSubject: 1 } }),
      ],
      [
        'launch day',
        expect.objectContaining({
          before: { perTier: null, perSubject: null },
          after: { perTier: 400, perSubject: 1 },
        }),
      ],
    ]);
    expect(typeof (a[0]!.details as { configVersion: unknown }).configVersion).toBe('number');

    for (const [input, message] of [
      [{ perTier: 0 }, /perTier.*at least 1/s],
      [{ perSubject: -2 }, /perSubject.*at least 1/s],
      [{ perTier: 1.5 }, /perTier.*whole number/s],
      [{ perTier: '4' }, /perTier.*positive whole number or null/s],
    ] as const) {
      const e = await err(admin.tiers.setConcurrency({ tier, ...input } as never));
      expect(e.code, JSON.stringify(input)).toBe('BAD_REQUEST');
      expect(e.message, JSON.stringify(input)).toMatch(message);
    }
    // Neither bound: refused by name, no audited change of nothing (an omitted reason does not count as a bound).
    for (const input of [{}, { reason: 'nothing' }]) {
      const e = await err(admin.tiers.setConcurrency({ tier, ...input }));
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message).toMatch(/at least one of perTier and perSubject/);
    }
    expect(await audits(tier, 'tier.set_concurrency')).toHaveLength(2);
    expect((await err(admin.tiers.setConcurrency({ tier: 'no-such-tier', perTier: 1 }))).code).toBe('NOT_FOUND');
    expect((await err(operator.tiers.setConcurrency({ tier, perTier: 1 }))).code).toBe('FORBIDDEN');
    expect((await listed(tier)).concurrency).toEqual({ perTier: null, perSubject: 1 });
  });
});
