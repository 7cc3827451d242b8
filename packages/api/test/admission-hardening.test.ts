// Admission under misuse and failure: unknown tier names cannot grow /metrics, a requestId names one
// request, and a refund is all or nothing. Real SQLite and PostgreSQL, like admission.test.ts.
import { TRPCError } from '@trpc/server';
import type { TSqliteRaw } from '@coolant/db';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAdmissionMetrics } from '../src/domain/admission/admission-metrics';
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

/** Every sample line of the exposition format, or a throw naming the line that is not. */
function parseMetricLines(text: string): { name: string; labels: string }[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? \S+$/.exec(line);
      if (!m) throw new Error(`unparseable metrics line: ${line}`);
      return { name: m[1]!, labels: m[2] ?? '' };
    });
}

describe.each(TEST_PROVIDERS)('admission hardening (%s)', (provider) => {
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

  async function tierWith(day: number): Promise<string> {
    const name = `h${++n}-${provider.slice(0, 2)}`;
    await admin.tiers.create({ name });
    await admin.tiers.setLimit({ tier: name, window: 'day', limit: day });
    return name;
  }

  async function used(tier: string, subject: string): Promise<number> {
    const tierId = (await h.db.tier.findUniqueOrThrow({ where: { name: tier } })).id;
    // SQLite's store appends deltas and folds them into QuotaCounter later: fold what is there first.
    await (h.services.admission.store as { settle?: () => Promise<void> }).settle?.();
    return (await h.db.quotaCounter.findFirst({ where: { tierId, subject, window: 'day' } }))?.used ?? 0;
  }

  it('1,000 distinct unknown tier names count under one label, and /metrics still parses', async () => {
    for (let i = 0; i < 1000; i++) {
      expect((await gw.admission.consume({ tier: `no-such-tier-${i}`, subject: 'x' })).reason).toBe('unknown_tier');
    }
    const unknown = [...h.services.admission.decisions.keys()].filter((k) => k.endsWith('|unknown_tier'));
    expect(unknown).toEqual(['_unknown|unknown_tier']);
    expect(h.services.admission.decisions.get('_unknown|unknown_tier')).toBe(1000);
    const m = new MetricsWriter();
    writeAdmissionMetrics(h.services, m);
    const decisions = parseMetricLines(m.toString()).filter(
      (s) => s.name === 'coolant_admission_decisions_total' && s.labels.includes('reason="unknown_tier"'),
    );
    expect(decisions).toEqual([
      { name: 'coolant_admission_decisions_total', labels: 'tier="_unknown",decision="denied",reason="unknown_tier"' },
    ]);
  });

  it('a requestId reused for another subject, tier or cost is refused with CONFLICT naming the first request, and consumes nothing', async () => {
    const tier = await tierWith(10);
    const other = await tierWith(10);
    const id = `r-1-${provider}`;
    const first = await gw.admission.consume({ tier, subject: 'u1', requestId: id });
    expect(first).toMatchObject({ allowed: true, remaining: 9 });
    for (const reuse of [
      { tier, subject: 'u2' },
      { tier: other, subject: 'u1' },
      { tier, subject: 'u1', cost: 2 },
    ]) {
      const e = await err(gw.admission.consume({ ...reuse, requestId: id }));
      expect(e.code, JSON.stringify(reuse)).toBe('CONFLICT');
      expect(e.message).toContain(`requestId ${id} was already used for tier ${tier}, subject u1, cost 1`);
    }
    expect(await used(tier, 'u2')).toBe(0);
    expect(await used(other, 'u1')).toBe(0);
    expect(await used(tier, 'u1')).toBe(1);
    // The same request keeps getting its first answer.
    expect(await gw.admission.consume({ tier, subject: 'u1', requestId: id })).toEqual(first);
  });

  it('the binding holds for a refused first answer, for unknown tiers, and for concurrent mismatched retries', async () => {
    const tier = await tierWith(1);
    await gw.admission.consume({ tier, subject: 'full' });
    const refused = await gw.admission.consume({ tier, subject: 'full', requestId: `q-${provider}` });
    expect(refused.reason).toBe('quota_exceeded');
    expect((await err(gw.admission.consume({ tier, subject: 'empty', requestId: `q-${provider}` }))).code).toBe(
      'CONFLICT',
    );
    expect(await used(tier, 'empty')).toBe(0);

    await gw.admission.consume({ tier: 'nope', subject: 'a', requestId: `u-${provider}` });
    expect((await err(gw.admission.consume({ tier, subject: 'a', requestId: `u-${provider}` }))).message).toContain(
      'tier nope, subject a, cost 1',
    );
    expect(await used(tier, 'a')).toBe(0);

    // Two requests racing on one id: one wins and is answered to all its retries; the other gets 409.
    const wide = await tierWith(100);
    const calls = Array.from({ length: 40 }, (_, i) =>
      gw.admission.consume({ tier: wide, subject: i % 2 ? 'odd' : 'even', requestId: `race-${provider}` }).then(
        (r) => ({ subject: i % 2 ? 'odd' : 'even', r, code: null as string | null }),
        (e: TRPCError) => ({ subject: i % 2 ? 'odd' : 'even', r: null, code: e.code }),
      ),
    );
    const results = await Promise.all(calls);
    const winners = new Set(results.filter((x) => x.r).map((x) => x.subject));
    expect(winners.size).toBe(1);
    const loser = winners.has('odd') ? 'even' : 'odd';
    expect(results.filter((x) => x.subject === loser).every((x) => x.code === 'CONFLICT')).toBe(true);
    expect(new Set(results.filter((x) => x.r).map((x) => JSON.stringify(x.r))).size).toBe(1);
    expect((await used(wide, 'odd')) + (await used(wide, 'even'))).toBe(1);
  });

  it('a refund whose commit fails leaves neither the counter change nor the ticket row; a retry then refunds once', async () => {
    const tier = await tierWith(3);
    const a = await gw.admission.consume({ tier, subject: 'rf', cost: 2 });
    expect(await used(tier, 'rf')).toBe(2);
    // The database refuses to give units back (a trigger, so the failure is the database's own).
    if (provider === 'sqlite') {
      await h.db.$executeRawUnsafe(
        // The refund's commit appends a negative delta (folded into QuotaCounter later).
        `CREATE TRIGGER "no_refund" BEFORE INSERT ON "QuotaDelta" WHEN NEW."delta" < 0 BEGIN SELECT RAISE(ABORT, 'refunds refused (test)'); END`,
      );
    } else {
      await h.db.$executeRawUnsafe(
        `CREATE FUNCTION no_refund() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refunds refused (test)'; END $$`,
      );
      await h.db.$executeRawUnsafe(
        `CREATE TRIGGER "no_refund" BEFORE UPDATE ON "QuotaCounter" FOR EACH ROW WHEN (NEW."used" < OLD."used") EXECUTE FUNCTION no_refund()`,
      );
    }
    try {
      expect((await err(gw.admission.refund({ ticket: a.ticket! }))).code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await h.db.$executeRawUnsafe(
        provider === 'sqlite' ? 'DROP TRIGGER "no_refund"' : 'DROP TRIGGER "no_refund" ON "QuotaCounter"',
      );
      if (provider === 'postgresql') await h.db.$executeRawUnsafe('DROP FUNCTION no_refund()');
    }
    expect(await used(tier, 'rf')).toBe(2);
    expect(await h.db.refundedTicket.count()).toBe(0);
    // Nothing was given back in memory either: one unit left, not three.
    expect((await gw.admission.consume({ tier, subject: 'rf' })).remaining).toBe(0);

    expect(await gw.admission.refund({ ticket: a.ticket! })).toEqual({ refunded: true, reason: 'ok' });
    expect(await gw.admission.refund({ ticket: a.ticket! })).toEqual({ refunded: false, reason: 'already_refunded' });
    expect(await used(tier, 'rf')).toBe(1);
    expect(await h.db.refundedTicket.count()).toBe(1);
  });

  it('concurrent refunds of one ticket give it back once', async () => {
    const tier = await tierWith(5);
    const a = await gw.admission.consume({ tier, subject: 'twice', cost: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, () => gw.admission.refund({ ticket: a.ticket! })));
    expect(results.filter((r) => r.refunded)).toHaveLength(1);
    expect(await used(tier, 'twice')).toBe(0);
  });

  it.runIf(provider === 'sqlite')(
    'the connection that commits admission batches syncs every commit (synchronous=FULL)',
    () => {
      const raw = h.services.admission.raw as TSqliteRaw;
      expect(raw.all('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
      expect(raw.all('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    },
  );
});
