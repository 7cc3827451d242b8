// Tier-wide limits (issue 13 §1) in the quota decision, through the real service on both databases:
// a consume must fit its subject's limits and the tier's (all subjects together, the QuotaCounter
// row with subject "") or take from none; a tier-scope refusal says tier_limit, with the headers and
// reset of the limit that refused; a temporary tier limit overrides the base tier limit only; a
// refund gives back to both counters once.
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '../src/lib/rate-limit-headers';
import { windowStartMin } from '../src/domain/admission/windows';
import { createHarness, type THarness } from './harness';

const T0 = Date.parse('2026-11-27T10:00:20Z');

describe.each(TEST_PROVIDERS)('admission with tier-wide limits (%s)', (provider) => {
  let h: THarness;
  let clock = T0;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let op: Awaited<ReturnType<THarness['caller']>>;
  let gw: Awaited<ReturnType<THarness['caller']>>;
  let n = 0;

  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    op = await h.caller({ authorization: await h.makeToken('operator') });
    gw = await h.caller({ authorization: await h.makeToken('gateway') });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    clock = T0;
  });

  type TLimits = Partial<Record<'minute' | 'hour' | 'day', number>>;
  /** A new tier; the tier-wide limits are set first, so a lookup by window alone would find them. */
  async function tier(limits: { subject?: TLimits; tier?: TLimits }): Promise<{ name: string; id: string }> {
    const name = `ts${++n}-${provider.slice(0, 2)}`;
    await admin.tiers.create({ name });
    for (const scope of ['tier', 'subject'] as const)
      for (const [window, limit] of Object.entries(limits[scope] ?? {}))
        await admin.tiers.setLimit({ tier: name, window: window as 'day', limit, scope });
    return { name, id: (await h.db.tier.findUniqueOrThrow({ where: { name } })).id };
  }

  /** A counter's value as the database holds it (SQLite: folded first). */
  async function counter(tierId: string, window: 'minute' | 'day', subject: string): Promise<number> {
    await (h.services.admission.store as { settle?: () => Promise<void> }).settle?.();
    const row = await h.db.quotaCounter.findFirst({
      where: { tierId, window, subject, windowStartMin: windowStartMin(window, clock) },
    });
    return row?.used ?? 0;
  }

  it('free ≤ 40 a minute tier-wide, each user 3 a day: 600 concurrent consumes of 200 subjects admit exactly 40', async () => {
    const t = await tier({ subject: { day: 3 }, tier: { minute: 40 } });
    const subjects = Array.from({ length: 200 }, (_, i) => `u${i}`);
    const answers = await Promise.all(
      [0, 1, 2].flatMap(() => subjects.map((subject) => gw.admission.consume({ tier: t.name, subject }))),
    );
    const admitted = answers.filter((a) => a.allowed);
    expect(admitted).toHaveLength(40);
    expect(answers.filter((a) => !a.allowed).every((a) => a.reason === 'tier_limit')).toBe(true);
    expect(await counter(t.id, 'minute', '')).toBe(40);
    const perSubject = await h.db.quotaCounter.aggregate({
      where: { tierId: t.id, window: 'day', subject: { not: '' } },
      _sum: { used: true },
    });
    expect(perSubject._sum.used).toBe(40);
    // The next minute the tier has room again; each user still has the rest of its day.
    clock += 60_000;
    expect(await gw.admission.consume({ tier: t.name, subject: 'u0' })).toMatchObject({ allowed: true });
  });

  it('all or none across scopes: a subject refused by its own limit takes no tier budget, and a tier refusal takes nothing from the subject', async () => {
    const t = await tier({ subject: { minute: 2 }, tier: { minute: 3 } });
    for (let i = 0; i < 2; i++) expect((await gw.admission.consume({ tier: t.name, subject: 'a' })).allowed).toBe(true);
    const own = await gw.admission.consume({ tier: t.name, subject: 'a' });
    expect(own).toMatchObject({ allowed: false, reason: 'quota_exceeded', window: 'minute', limit: 2 });
    expect(await counter(t.id, 'minute', '')).toBe(2);
    expect((await gw.admission.consume({ tier: t.name, subject: 'b' })).allowed).toBe(true);
    const full = await gw.admission.consume({ tier: t.name, subject: 'c' });
    expect(full).toMatchObject({
      allowed: false,
      reason: 'tier_limit',
      window: 'minute',
      limit: 3,
      remaining: 0,
      resetAt: '2026-11-27T10:01:00.000Z',
      retryAfterSeconds: 40,
      ticket: null,
    });
    expect(full.policies).toEqual([
      {
        window: 'minute',
        scope: 'subject',
        limit: 2,
        remaining: 2,
        resetAt: '2026-11-27T10:01:00.000Z',
        source: 'base',
      },
      { window: 'minute', scope: 'tier', limit: 3, remaining: 0, resetAt: '2026-11-27T10:01:00.000Z', source: 'base' },
    ]);
    expect(rateLimitHeaders(full, clock)).toEqual({
      'RateLimit-Policy': `"${t.name}-minute";q=2;w=60, "${t.name}-minute-tier";q=3;w=60`,
      RateLimit: `"${t.name}-minute";r=2;t=40, "${t.name}-minute-tier";r=0;t=40`,
      'Retry-After': '40',
    });
    expect(await counter(t.id, 'minute', 'c')).toBe(0);
    expect(await counter(t.id, 'minute', '')).toBe(3);
  });

  it('the refusing limit that resets last is named: a subject out for the day is quota_exceeded even while the tier is full', async () => {
    const t = await tier({ subject: { day: 1 }, tier: { minute: 1 } });
    expect((await gw.admission.consume({ tier: t.name, subject: 'd' })).allowed).toBe(true);
    expect(await gw.admission.consume({ tier: t.name, subject: 'd' })).toMatchObject({
      reason: 'quota_exceeded',
      window: 'day',
      resetAt: '2026-11-28T00:00:00.000Z',
    });
    expect(await gw.admission.consume({ tier: t.name, subject: 'e' })).toMatchObject({
      reason: 'tier_limit',
      window: 'minute',
    });
    // A cost above the tier's limit (and within the subject's) never fits, and says so.
    const u = await tier({ subject: { day: 5 }, tier: { minute: 1 } });
    expect(await gw.admission.consume({ tier: u.name, subject: 'f', cost: 2 })).toMatchObject({
      reason: 'tier_limit',
      limit: 1,
    });
  });

  it('a per-subject and a tier-wide limit on one window are each applied as what they are', async () => {
    // Tier-wide 100 a minute set before per-subject 1 a minute: one subject gets one, not a hundred.
    const t = await tier({ subject: { minute: 1 }, tier: { minute: 100 } });
    expect(await gw.admission.consume({ tier: t.name, subject: 'x' })).toMatchObject({
      allowed: true,
      limit: 1,
      remaining: 0,
    });
    expect(await gw.admission.consume({ tier: t.name, subject: 'x' })).toMatchObject({
      allowed: false,
      reason: 'quota_exceeded',
      limit: 1,
    });
    expect(await counter(t.id, 'minute', '')).toBe(1);
  });

  it('a temporary tier-wide limit overrides the base tier-wide limit until it ends, and leaves the per-subject limit alone', async () => {
    const t = await tier({ subject: { minute: 5 }, tier: { minute: 2 } });
    await op.tiers.setTemporaryLimit({
      tier: t.name,
      window: 'minute',
      scope: 'tier',
      limit: 4,
      until: new Date(clock + 120_000).toISOString(),
      reason: 'launch: let more free users in',
    });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await gw.admission.consume({ tier: t.name, subject: `v${i}` }));
    expect(answers.map((a) => a.allowed)).toEqual([true, true, true, true, false, false]);
    expect(answers[0]!.policies.map((p) => `${p.scope}:${p.limit}:${p.source}`)).toEqual([
      'subject:5:base',
      'tier:4:temporary',
    ]);
    expect(answers[4]).toMatchObject({ reason: 'tier_limit', limit: 4 });
    // One subject is still held to its own 5 by the temporary tier limit's side.
    clock += 60_000;
    const same = [];
    for (let i = 0; i < 5; i++) same.push(await gw.admission.consume({ tier: t.name, subject: 'w' }));
    expect(same.filter((a) => a.allowed)).toHaveLength(4);
    // Ended (nothing runs): the base tier-wide 2 is back.
    clock += 60_000;
    const after = [];
    for (let i = 0; i < 3; i++) after.push(await gw.admission.consume({ tier: t.name, subject: `z${i}` }));
    expect(after.map((a) => a.allowed)).toEqual([true, true, false]);
    expect(after[0]!.policies[1]).toMatchObject({ scope: 'tier', limit: 2, source: 'base' });
    // Cleared early: the base is back at once.
    await op.tiers.setTemporaryLimit({
      tier: t.name,
      window: 'minute',
      scope: 'tier',
      limit: 10,
      until: new Date(clock + 600_000).toISOString(),
      reason: 'again',
    });
    expect((await gw.admission.consume({ tier: t.name, subject: 'z9' })).allowed).toBe(true);
    await op.tiers.clearTemporaryLimit({ tier: t.name, window: 'minute', scope: 'tier', reason: 'enough' });
    expect(await gw.admission.consume({ tier: t.name, subject: 'z8' })).toMatchObject({
      allowed: false,
      reason: 'tier_limit',
      limit: 2,
    });
  });

  it('a refund gives back to the subject and to the tier, once', async () => {
    const t = await tier({ subject: { day: 3 }, tier: { minute: 5, day: 10 } });
    const a = await gw.admission.consume({ tier: t.name, subject: 'r', cost: 2 });
    expect(a.allowed).toBe(true);
    expect(await counter(t.id, 'minute', '')).toBe(2);
    expect(await gw.admission.refund({ ticket: a.ticket! })).toEqual({ refunded: true, reason: 'ok' });
    expect(await gw.admission.refund({ ticket: a.ticket! })).toEqual({ refunded: false, reason: 'already_refunded' });
    expect(await counter(t.id, 'minute', '')).toBe(0);
    expect(await counter(t.id, 'day', '')).toBe(0);
    expect(await counter(t.id, 'day', 'r')).toBe(0);
    // Concurrent refunds of one ticket: one gives back.
    const b = await gw.admission.consume({ tier: t.name, subject: 'r' });
    const refunds = await Promise.all(Array.from({ length: 10 }, () => gw.admission.refund({ ticket: b.ticket! })));
    expect(refunds.filter((r) => r.refunded)).toHaveLength(1);
    expect(await counter(t.id, 'minute', '')).toBe(0);
  });
});
