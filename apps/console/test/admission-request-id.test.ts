// A requestId names one request across console instances (HTTP 409 for a reuse with another tier,
// subject or cost), and unknown tier names cannot grow /metrics. Real console processes on one
// PostgreSQL database, called over HTTP like the gateway calls them.
import { createTestDatabase } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { consume, createTier, gatewayToken, metricsText, parseMetrics, postRaw, waitForConfig } from './support/api';
import { startConsole, type TConsoleProcess } from './support/console-process';

describe('requestId across two console processes on one PostgreSQL database', () => {
  let pg: { url: string; drop(): Promise<void> };
  let a: TConsoleProcess;
  let b: TConsoleProcess;
  let gw: string;

  beforeAll(async () => {
    pg = await createTestDatabase('coolant_console_test');
    a = await startConsole({ databaseUrl: pg.url });
    b = await startConsole({ databaseUrl: pg.url });
    gw = await gatewayToken(a.url, a.adminToken);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await pg?.drop();
  });

  test('B repeats the answer A gave to a requestId, and refuses its reuse for another request with 409 naming the first', async () => {
    const version = await createTier(a.url, a.adminToken, 'ids', { day: 10 });
    await waitForConfig([a.url, b.url], version);
    const first = await consume(a.url, gw, { tier: 'ids', subject: 'u1', requestId: 'r-1' });
    expect(first.data).toMatchObject({ allowed: true, remaining: 9 });
    const retry = await consume(b.url, gw, { tier: 'ids', subject: 'u1', requestId: 'r-1' });
    expect(retry.data).toEqual(first.data);

    for (const reuse of [
      { tier: 'ids', subject: 'u2' },
      { tier: 'free', subject: 'u1' },
      { tier: 'ids', subject: 'u1', cost: 3 },
    ]) {
      for (const c of [a, b]) {
        const r = await consume(c.url, gw, { ...reuse, requestId: 'r-1' });
        expect(r.status, JSON.stringify(reuse)).toBe(409);
        expect(r.error?.data.code).toBe('CONFLICT');
        expect(r.error?.message).toContain('requestId r-1 was already used for tier ids, subject u1, cost 1');
      }
    }
    // The batched (tRPC adapter) path maps it the same way.
    const batched = await postRaw(
      b.url,
      'admission.consume?batch=1',
      JSON.stringify({ 0: { tier: 'ids', subject: 'u2', requestId: 'r-1' } }),
      gw,
    );
    expect(batched.status).toBe(409);
    // Nothing was consumed by the refused reuses.
    expect((await consume(a.url, gw, { tier: 'ids', subject: 'u2' })).data).toMatchObject({
      allowed: true,
      remaining: 9,
    });
    expect((await consume(b.url, gw, { tier: 'ids', subject: 'u1' })).data).toMatchObject({
      allowed: true,
      remaining: 8,
    });
  });

  test('two requests racing on one requestId through both instances: one is answered (the same answer to all its retries), the other gets 409', async () => {
    const version = await createTier(a.url, a.adminToken, 'id-race', { day: 1000 });
    await waitForConfig([a.url, b.url], version);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const subject = i % 4 < 2 ? 'left' : 'right';
        return consume([a, b][i % 2]!.url, gw, { tier: 'id-race', subject, requestId: 'contested' }).then((r) => ({
          subject,
          r,
        }));
      }),
    );
    const answered = results.filter((x) => x.r.status === 200);
    const winners = new Set(answered.map((x) => x.subject));
    expect(winners.size).toBe(1);
    expect(new Set(answered.map((x) => JSON.stringify(x.r.data))).size).toBe(1);
    const loser = winners.has('left') ? 'right' : 'left';
    expect(results.filter((x) => x.subject === loser).map((x) => x.r.status)).toEqual(Array(100).fill(409));
    expect(answered).toHaveLength(100);
    // One unit spent in all: the winner's subject has 998 left after one more, the loser's 999.
    const [winner] = [...winners];
    expect((await consume(a.url, gw, { tier: 'id-race', subject: winner })).data?.remaining).toBe(998);
    expect((await consume(b.url, gw, { tier: 'id-race', subject: loser })).data?.remaining).toBe(999);
  });

  test('1,000 distinct unknown tier names leave one unknown_tier sample in /metrics, which still parses', async () => {
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) => consume(a.url, gw, { tier: `made-up-${i + j}`, subject: 'x' })),
      );
      for (const r of batch) expect(r.data?.reason).toBe('unknown_tier');
    }
    const samples = parseMetrics((await metricsText(a.url)).text);
    const unknown = samples.filter(
      (s) => s.name === 'coolant_admission_decisions_total' && s.labels.reason === 'unknown_tier',
    );
    expect(unknown).toEqual([
      {
        name: 'coolant_admission_decisions_total',
        labels: { tier: '_unknown', decision: 'denied', reason: 'unknown_tier' },
        value: 1000,
      },
    ]);
  });
});
