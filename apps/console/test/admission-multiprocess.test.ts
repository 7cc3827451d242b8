import { createTestDatabase } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  call,
  consume,
  createTier,
  gatewayToken,
  instanceState,
  metricsText,
  metricValue,
  parseMetrics,
  postRaw,
  waitFor,
  waitForConfig,
  type TConsumeCall,
} from './support/api';
import { startConsole, type TConsoleProcess } from './support/console-process';

type TTiersList = {
  configVersion: number;
  instances: { id: string }[];
  tiers: {
    name: string;
    paused: boolean;
    pause: {
      reason: string | null;
      propagation: { appliedByAll: boolean; instances: { instanceId: string; appliedAt: string | null }[] } | null;
    } | null;
  }[];
};

/** Fires every call at once (no pacing), `i % targets.length` picks the console. */
async function race(
  targets: { url: string }[],
  token: string,
  input: unknown,
  n: number,
): Promise<(TConsumeCall & { target: number })[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      consume(targets[i % targets.length]!.url, token, input).then((r) => ({ ...r, target: i % targets.length })),
    ),
  );
}

function tally(results: (TConsumeCall & { target: number })[]) {
  const byReason: Record<string, number> = {};
  const allowedPerTarget: number[] = [];
  for (const r of results) {
    const key = r.status === 200 ? r.data!.reason : `HTTP ${r.status}: ${r.error?.message}`;
    byReason[key] = (byReason[key] ?? 0) + 1;
    if (r.data?.allowed) allowedPerTarget[r.target] = (allowedPerTarget[r.target] ?? 0) + 1;
  }
  return { byReason, allowed: results.filter((r) => r.data?.allowed).length, allowedPerTarget };
}

describe('two console processes on one PostgreSQL database', () => {
  let pg: { url: string; drop(): Promise<void> };
  let a: TConsoleProcess;
  let b: TConsoleProcess;
  let gw: string;

  beforeAll(async () => {
    pg = await createTestDatabase('coolant_console_test');
    // One after the other: both apply migrations at start, and the first start may build Next.
    a = await startConsole({ databaseUrl: pg.url });
    b = await startConsole({ databaseUrl: pg.url });
    gw = await gatewayToken(a.url, a.adminToken);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await pg?.drop();
  });

  test('1,000 concurrent consumes of one subject, split across both instances, admit exactly the day limit of 50', async () => {
    const version = await createTier(a.url, a.adminToken, 'race', { day: 50 });
    await waitForConfig([a.url, b.url], version);

    const results = await race([a, b], gw, { tier: 'race', subject: 'one-subject' }, 1000);
    const t = tally(results);
    console.log(
      `[exactness, PostgreSQL, 2 instances] ${JSON.stringify(t.byReason)}; admitted per instance: A=${t.allowedPerTarget[0] ?? 0}, B=${t.allowedPerTarget[1] ?? 0}`,
    );
    expect(t.byReason).toEqual({ ok: 50, quota_exceeded: 950 });
    // Every admitted answer saw a distinct count: remaining values 49..0 each exactly once.
    const remaining = results
      .filter((r) => r.data?.allowed)
      .map((r) => r.data!.remaining)
      .sort((x, y) => x! - y!);
    expect(remaining).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // And the counter stays exhausted on both instances afterwards.
    for (const c of [a, b]) {
      const after = await consume(c.url, gw, { tier: 'race', subject: 'one-subject' });
      expect(after.data).toMatchObject({ allowed: false, reason: 'quota_exceeded', remaining: 0, limit: 50 });
    }
  });

  test('a pause through instance A is applied by instance B, and tiers.list shows it applied by both', async () => {
    const version = await createTier(a.url, a.adminToken, 'pausable', { day: 1_000_000 });
    await waitForConfig([a.url, b.url], version);
    const probe = await consume(b.url, gw, { tier: 'pausable', subject: 'probe' });
    expect(probe.data).toMatchObject({ allowed: true, reason: 'ok' });

    const started = performance.now();
    const paused = await call<{ configVersion: number }>(
      a.url,
      'tiers.pause',
      { tier: 'pausable', reason: 'GPUs melting (test)' },
      a.adminToken,
    );
    const acknowledged = performance.now();
    // A itself refuses as soon as the pause call has returned.
    const onA = await consume(a.url, gw, { tier: 'pausable', subject: 'probe' });
    expect(onA.data).toMatchObject({ allowed: false, reason: 'tier_paused', pauseReason: 'GPUs melting (test)' });

    let probes = 0;
    const denied = await waitFor(
      'instance B to deny with tier_paused',
      async () => {
        probes++;
        const r = await consume(b.url, gw, { tier: 'pausable', subject: 'probe' });
        return r.data?.reason === 'tier_paused' ? r : null;
      },
      10_000,
      0,
    );
    const firstDenial = performance.now();
    console.log(
      `[propagation] pause → first tier_paused on B: ${(firstDenial - started).toFixed(1)} ms from the pause request, ` +
        `${(firstDenial - acknowledged).toFixed(1)} ms after A acknowledged it (${probes} probes; the spec asks for < 1 s)`,
    );
    expect(denied.data).toMatchObject({
      allowed: false,
      reason: 'tier_paused',
      pauseReason: 'GPUs melting (test)',
      configVersion: expect.any(Number),
    });
    expect(denied.data!.configVersion).toBeGreaterThanOrEqual(paused.configVersion);

    const ids = [(await instanceState(a.url)).instance, (await instanceState(b.url)).instance].sort();
    const tier = await waitFor(
      'tiers.list to show the pause applied by all instances',
      async () => {
        const list = await call<TTiersList>(b.url, 'tiers.list', undefined, b.adminToken, 'GET');
        const t = list.tiers.find((x) => x.name === 'pausable');
        return t?.pause?.propagation?.appliedByAll ? t : null;
      },
      10_000,
      100,
    );
    expect(tier.paused).toBe(true);
    expect(tier.pause!.propagation!.instances.map((i) => i.instanceId).sort()).toEqual(ids);
    for (const i of tier.pause!.propagation!.instances) expect(i.appliedAt).not.toBeNull();
  });

  test('over HTTP the consume answer carries RateLimit-Policy and RateLimit, and Retry-After when refused by quota; batched calls work too', async () => {
    const version = await createTier(a.url, a.adminToken, 'headers', { day: 2, minute: 100 });
    await waitForConfig([a.url, b.url], version);
    const input = { tier: 'headers', subject: 'h-subject' };

    const first = await consume(b.url, gw, input);
    expect(first.status).toBe(200);
    expect(first.data).toMatchObject({ allowed: true, remaining: 1, limit: 2, window: 'day' });
    const policy = first.headers.get('ratelimit-policy');
    const limit = first.headers.get('ratelimit');
    expect(policy).toMatch(/"headers-day";q=2;w=86400/);
    expect(policy).toMatch(/"headers-minute";q=100;w=60/);
    expect(limit).toMatch(/"headers-day";r=1;t=\d+/);
    expect(limit).toMatch(/"headers-minute";r=99;t=\d+/);
    expect(first.headers.get('retry-after')).toBeNull();

    // Batched (tRPC's httpBatchLink shape): the same procedure through tRPC's own HTTP adapter.
    const batched = await postRaw(a.url, 'admission.consume?batch=1', JSON.stringify({ 0: input }), gw);
    expect(batched.status).toBe(200);
    const items = batched.json as { result: { data: { allowed: boolean; remaining: number } } }[];
    expect(Array.isArray(items)).toBe(true);
    expect(items[0]!.result.data).toMatchObject({ allowed: true, remaining: 0 });
    expect(batched.headers.get('ratelimit')).toMatch(/"headers-day";r=0;t=\d+/);
    expect(batched.headers.get('ratelimit-policy')).toMatch(/"headers-day";q=2;w=86400/);

    const refused = await consume(b.url, gw, input);
    expect(refused.status).toBe(200);
    expect(refused.data).toMatchObject({ allowed: false, reason: 'quota_exceeded', window: 'day', remaining: 0 });
    const retryAfter = refused.headers.get('retry-after');
    expect(retryAfter).toBe(String(refused.data!.retryAfterSeconds));
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(86_400);
    expect(refused.headers.get('ratelimit')).toMatch(/"headers-day";r=0;t=\d+/);

    const refusedBatched = await postRaw(a.url, 'admission.consume?batch=1', JSON.stringify({ 0: input }), gw);
    expect(refusedBatched.status).toBe(200);
    expect((refusedBatched.json as { result: { data: { reason: string } } }[])[0]!.result.data.reason).toBe(
      'quota_exceeded',
    );
    expect(Number(refusedBatched.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('bad input gets HTTP 400 naming the field, and consumes nothing', async () => {
    const version = await createTier(a.url, a.adminToken, 'strict', { day: 10 });
    await waitForConfig([a.url, b.url], version);
    const cases: { name: string; input: unknown; field: RegExp }[] = [
      { name: 'unknown field', input: { tier: 'strict', subject: 's', colour: 'red' }, field: /colour/ },
      { name: 'cost -1', input: { tier: 'strict', subject: 's', cost: -1 }, field: /cost/ },
      { name: 'cost 1e9', input: { tier: 'strict', subject: 's', cost: 1e9 }, field: /cost/ },
      { name: 'empty subject', input: { tier: 'strict', subject: '' }, field: /subject/ },
      { name: '300-byte subject', input: { tier: 'strict', subject: 'x'.repeat(300) }, field: /subject/ },
    ];
    for (const c of [a, b]) {
      for (const k of cases) {
        const r = await consume(c.url, gw, k.input);
        expect(r.status, `${k.name}: ${JSON.stringify(r.error)}`).toBe(400);
        expect(r.error?.data.code, k.name).toBe('BAD_REQUEST');
        expect(r.error?.message, k.name).toMatch(k.field);
        expect(r.data, k.name).toBeNull();
        // The batched path validates the same way.
        const batched = await postRaw(c.url, 'admission.consume?batch=1', JSON.stringify({ 0: k.input }), gw);
        expect(batched.status, `batched ${k.name}`).toBe(400);
        expect(JSON.stringify(batched.json), `batched ${k.name}`).toMatch(k.field);
      }
      // No decision was made or counted for the tier on this instance.
      const samples = parseMetrics((await metricsText(c.url)).text);
      expect(
        samples.filter((s) => s.name === 'coolant_admission_decisions_total' && s.labels.tier === 'strict'),
      ).toEqual([]);
    }
    // Nothing was consumed: the subject still has its whole limit.
    const ok = await consume(a.url, gw, { tier: 'strict', subject: 's' });
    expect(ok.data).toMatchObject({ allowed: true, remaining: 9, limit: 10 });
    expect(
      metricValue(parseMetrics((await metricsText(a.url)).text), 'coolant_admission_decisions_total', {
        tier: 'strict',
        reason: 'ok',
      }),
    ).toBe(1);
  });
});

describe('one console on SQLite', () => {
  let c: TConsoleProcess;

  beforeAll(async () => {
    c = await startConsole();
  });

  afterAll(async () => {
    await c?.stop();
  });

  test('a second console on the same SQLite data dir refuses to start and says another console uses it', async () => {
    const second = startConsole({ dataDir: c.dataDir, timeoutMs: 120_000 });
    // Either the owner check (a live instance row) or the file lock may be what catches it; both say so.
    await expect(second).rejects.toThrow(/another console/);
    await expect(second).rejects.toThrow(/SQLite supports one console process/);
    await expect(second).rejects.toThrow(/console exited with 1/);
    // The first one is unaffected.
    expect((await fetch(`${c.url}/api/health`)).status).toBe(200);
  });

  test('1,000 concurrent consumes of one subject over HTTP admit exactly the day limit of 50', async () => {
    await createTier(c.url, c.adminToken, 'race', { day: 50 });
    const gw = await gatewayToken(c.url, c.adminToken);
    const results = await race([c], gw, { tier: 'race', subject: 'one-subject' }, 1000);
    const t = tally(results);
    console.log(`[exactness, SQLite, 1 instance] ${JSON.stringify(t.byReason)}`);
    expect(t.byReason).toEqual({ ok: 50, quota_exceeded: 950 });
    const remaining = results
      .filter((r) => r.data?.allowed)
      .map((r) => r.data!.remaining)
      .sort((x, y) => x! - y!);
    expect(remaining).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const after = await consume(c.url, gw, { tier: 'race', subject: 'one-subject' });
    expect(after.data).toMatchObject({ allowed: false, reason: 'quota_exceeded', remaining: 0 });
  });
});
