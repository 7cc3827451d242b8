// The console's two HTTP paths for hot procedures held to one answer: a
// single unbatched POST (served from the router's declaration by plain
// node:http) and the same call as a tRPC batch of one (served by tRPC's
// adapter) must give the same data, status, RateLimit-* / Retry-After and
// security headers, and the same error shape, for admission.consume,
// admission.refund and agent.report. Real console on PostgreSQL behind a TCP
// proxy the test cuts (the 503 case). Also: headers on everything the
// console writes itself, and the login throttle's Retry-After. Beside those
// values, the whole list of header names sent is the same on both paths
// (framing and the date aside; sorted: RFC 9110 gives the order of fields
// with different names no meaning, and a name sent twice still shows twice).
import { request } from 'node:http';
import { createTestDatabase } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gpu, sample } from '../../../packages/api/test/samples';
import { call, createTier, gatewayToken } from './support/api';
import { startConsole, type TConsoleProcess } from './support/console-process';
import { startTcpProxy, type TTcpProxy } from './support/tcp-proxy';
import { streamUpload } from './support/upload';

const ENROLL = 'parity-test-enroll-secret-0123';
const COMPARED_HEADERS = [
  'content-type',
  'cache-control',
  'x-content-type-options',
  'content-security-policy',
  'ratelimit',
  'ratelimit-policy',
  'retry-after',
];

let pg: Awaited<ReturnType<typeof createTestDatabase>>;
let proxy: TTcpProxy;
let c: TConsoleProcess;
let gateway: string;
let viewer: string;
let nodes: string[];

type TAnswer = { status: number; headers: Record<string, string | null>; names: string[]; body: unknown };

/** Per message or per connection, not part of an answer: left out of the compared name list. */
const FRAMING = new Set(['date', 'content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** Header names of an answer, lowercased and sorted, framing left out. */
function compared(names: string[]): string[] {
  return names
    .map((n) => n.toLowerCase())
    .filter((n) => !FRAMING.has(n))
    .sort();
}

beforeAll(async () => {
  pg = await createTestDatabase('coolant_console_test');
  const direct = new URL(pg.url);
  proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const proxied = new URL(pg.url);
  proxied.port = String(proxy.port);
  c = await startConsole({ databaseUrl: proxied.toString(), env: { COOLANT_ENROLL_TOKEN: ENROLL } });
  await createTier(c.url, c.adminToken, 'parity', { minute: 1000, day: 100_000 });
  await createTier(c.url, c.adminToken, 'parity-tight', { day: 1 });
  gateway = await gatewayToken(c.url, c.adminToken);
  viewer = (
    await call<{ secret: string }>(c.url, 'tokens.create', { name: 'parity viewer', role: 'viewer' }, c.adminToken)
  ).secret;
  nodes = [];
  for (const hostname of ['parity-fast', 'parity-batch']) {
    nodes.push(
      (await call<{ nodeToken: string }>(c.url, 'agent.enroll', { enrollToken: ENROLL, hostname }, '')).nodeToken,
    );
  }
});

afterAll(async () => {
  await c?.stop();
  await proxy?.close();
  await pg?.drop();
});

function pick(get: (name: string) => string | string[] | null | undefined): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const name of COMPARED_HEADERS) {
    const v = get(name);
    out[name] = Array.isArray(v) ? v.join(', ') : (v ?? null);
  }
  return out;
}

/** Tickets carry a fresh nonce per decision: equal when both are tickets. */
function normalise(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (k, v: unknown) =>
    k === 'ticket' && typeof v === 'string' ? '<ticket>' : v,
  );
}

async function post(
  url: string,
  body: string,
  token: string | null,
  contentType = 'application/json',
): Promise<TAnswer> {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (token) headers.authorization = `Bearer ${token}`;
  // node:http, not fetch: fetch's Headers join a name sent twice into one entry.
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, timeout: 20_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve({
            status: res.statusCode ?? 0,
            headers: pick((n) => res.headers[n]),
            names: compared(res.rawHeaders.filter((_, i) => i % 2 === 0)),
            body: JSON.parse(text) as unknown,
          });
        } catch (error) {
          reject(
            new Error(`${url}: HTTP ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`, {
              cause: error,
            }),
          );
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within 20 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The fast path: one unbatched POST. */
function single(path: string, input: unknown, token: string | null, contentType?: string): Promise<TAnswer> {
  return post(`${c.url}/api/trpc/${path}`, JSON.stringify(input), token, contentType);
}

/**
 * tRPC's adapter: the same call as a batch of one, its single result
 * unwrapped. A refusal of the whole request (415, 413) is one error object,
 * not a list, in tRPC's own answers too; its clients apply it to every call.
 */
async function batchOfOne(path: string, input: unknown, token: string | null, contentType?: string): Promise<TAnswer> {
  const a = await post(`${c.url}/api/trpc/${path}?batch=1`, JSON.stringify({ 0: input }), token, contentType);
  if (a.status === 200 || (a.status !== 413 && a.status !== 415))
    expect(Array.isArray(a.body), `${path} batch answer is a list: ${JSON.stringify(a.body)}`).toBe(true);
  return { ...a, body: Array.isArray(a.body) ? a.body[0] : a.body };
}

/** Both calls inside one second, so reset times in seconds (RateLimit t=, Retry-After) are the same. */
async function inOneSecond<T>(fn: () => Promise<T>): Promise<T> {
  while (Date.now() % 1000 > 300) await new Promise((r) => setTimeout(r, 20));
  return fn();
}

async function expectSame(what: string, fast: TAnswer, adapter: TAnswer): Promise<void> {
  console.log(`[parity] ${what}: HTTP ${fast.status} ${JSON.stringify(fast.body).slice(0, 200)}`);
  expect(normalise(adapter), what).toEqual(normalise(fast));
}

describe('the fast path and the adapter answer alike', () => {
  test('admission.consume: an admitted decision, with its RateLimit fields', async () => {
    const [f, b] = await inOneSecond(async () => [
      await single('admission.consume', { tier: 'parity', subject: 'ok-f' }, gateway),
      await batchOfOne('admission.consume', { tier: 'parity', subject: 'ok-b' }, gateway),
    ]);
    expect(f.status).toBe(200);
    expect(f.headers.ratelimit).toMatch(/"parity-minute";r=999;t=\d+/);
    expect(f.headers['x-content-type-options']).toBe('nosniff');
    expect(f.headers['cache-control']).toBe('no-store');
    expect(f.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    await expectSame('consume admitted', f, b);
  });

  test('admission.consume: an over-quota answer with RateLimit and Retry-After', async () => {
    const [f, b] = await inOneSecond(async () => {
      await single('admission.consume', { tier: 'parity-tight', subject: 'q-f' }, gateway);
      await batchOfOne('admission.consume', { tier: 'parity-tight', subject: 'q-b' }, gateway);
      return [
        await single('admission.consume', { tier: 'parity-tight', subject: 'q-f' }, gateway),
        await batchOfOne('admission.consume', { tier: 'parity-tight', subject: 'q-b' }, gateway),
      ];
    });
    expect(f.status).toBe(200);
    expect((f.body as { result: { data: { reason: string } } }).result.data.reason).toBe('quota_exceeded');
    expect(Number(f.headers['retry-after'])).toBeGreaterThan(0);
    await expectSame('consume over quota', f, b);
  });

  test('admission.refund: refunded, then already refunded, and a forged ticket', async () => {
    const ticket = async (subject: string) =>
      (
        (await single('admission.consume', { tier: 'parity', subject }, gateway)).body as {
          result: { data: { ticket: string } };
        }
      ).result.data.ticket;
    const [tf, tb] = [await ticket('refund-f'), await ticket('refund-b')];
    await expectSame(
      'refund',
      await single('admission.refund', { ticket: tf }, gateway),
      await batchOfOne('admission.refund', { ticket: tb }, gateway),
    );
    await expectSame(
      'refund again',
      await single('admission.refund', { ticket: tf }, gateway),
      await batchOfOne('admission.refund', { ticket: tb }, gateway),
    );
    const forged = await single('admission.refund', { ticket: 't1.abc.def' }, gateway);
    expect(forged.status).toBe(400);
    await expectSame('refund forged', forged, await batchOfOne('admission.refund', { ticket: 't1.abc.def' }, gateway));
  });

  test('agent.report: accepted from two nodes alike', async () => {
    const report = { intervalSeconds: 5, agentVersion: 'parity', samples: [sample(1, [gpu(0), gpu(1)])] };
    const f = await single('agent.report', report, nodes[0]!);
    expect(f.status).toBe(200);
    await expectSame('report', f, await batchOfOne('agent.report', report, nodes[1]!));
  });

  const cases: [string, string, unknown, () => string | null, number][] = [
    ['consume, bad input', 'admission.consume', { tier: '', subject: 'x' }, () => gateway, 400],
    ['consume, unknown field', 'admission.consume', { tier: 'parity', subject: 'x', costs: 2 }, () => gateway, 400],
    ['refund, bad input', 'admission.refund', {}, () => gateway, 400],
    ['report, bad input', 'agent.report', { intervalSeconds: 0, samples: [] }, () => nodes[0]!, 400],
    ['consume, no token', 'admission.consume', { tier: 'parity', subject: 'x' }, () => null, 401],
    [
      'consume, unknown token',
      'admission.consume',
      { tier: 'parity', subject: 'x' },
      () => 'not-a-real-token-0123456789',
      401,
    ],
    ['refund, no token', 'admission.refund', { ticket: 'x' }, () => null, 401],
    ['report, no token', 'agent.report', { intervalSeconds: 5, samples: [] }, () => null, 401],
    ['consume, viewer', 'admission.consume', { tier: 'parity', subject: 'x' }, () => viewer, 403],
    ['consume, node token', 'admission.consume', { tier: 'parity', subject: 'x' }, () => nodes[0]!, 403],
    ['refund, viewer', 'admission.refund', { ticket: 'x' }, () => viewer, 403],
    ['report, gateway token', 'agent.report', { intervalSeconds: 5, samples: [] }, () => gateway, 403],
  ];
  for (const [what, path, input, token, status] of cases) {
    test(`${what}: ${status} with the same error shape`, async () => {
      const f = await single(path, input, token());
      expect(f.status, JSON.stringify(f.body)).toBe(status);
      if (status === 400)
        expect((f.body as { error: { message: string } }).error.message).toMatch(
          /^(tier|input|ticket|intervalSeconds|samples)\b|costs/,
        );
      await expectSame(what, f, await batchOfOne(path, input, token()));
    });
  }

  test('wrong content type: 415 on both', async () => {
    for (const path of ['admission.consume', 'admission.refund', 'agent.report']) {
      const f = await single(path, { tier: 'parity', subject: 'x' }, gateway, 'text/plain');
      expect(f.status).toBe(415);
      await expectSame(
        `${path} text/plain`,
        f,
        await batchOfOne(path, { tier: 'parity', subject: 'x' }, gateway, 'text/plain'),
      );
    }
  });

  test('a body over the procedure cap: 413 on both (16 KiB for admission, 8 MiB for agent.report)', async () => {
    const big = 'x'.repeat(20 * 1024);
    for (const path of ['admission.consume', 'admission.refund']) {
      const f = await single(path, { tier: 'parity', subject: big }, gateway);
      expect(f.status).toBe(413);
      expect((f.body as { error: { message: string } }).error.message).toMatch(/over 16384 bytes/);
      await expectSame(`${path} over cap`, f, await batchOfOne(path, { tier: 'parity', subject: big }, gateway));
    }
    const upload = async (url: string) => {
      const a = await streamUpload(url, 9 * 1024 * 1024, {
        authorization: `Bearer ${nodes[0]!}`,
        'content-length': String(9 * 1024 * 1024),
      });
      const body = JSON.parse(a.body) as unknown;
      return {
        status: a.status,
        headers: pick((n) => a.headers[n]),
        names: compared(a.headerNames),
        body: Array.isArray(body) ? body[0] : body,
      };
    };
    const f = await upload(`${c.url}/api/trpc/agent.report`);
    expect(f.status).toBe(413);
    await expectSame('agent.report over cap', f, await upload(`${c.url}/api/trpc/agent.report?batch=1`));
    // Under agent.report's own cap (over the 1 MiB default), the adapter reads it too.
    const under = await batchOfOne(
      'agent.report',
      { intervalSeconds: 5, samples: [], pad: 'x'.repeat(2 * 1024 * 1024) },
      nodes[0]!,
    );
    expect(under.status).toBe(400);
  });

  test('a requestId reused for another request: 409 naming it on both', async () => {
    expect(
      (await single('admission.consume', { tier: 'parity', subject: 'r1', requestId: 'parity-rid' }, gateway)).status,
    ).toBe(200);
    const f = await single('admission.consume', { tier: 'parity', subject: 'r2', requestId: 'parity-rid' }, gateway);
    expect(f.status).toBe(409);
    await expectSame(
      'requestId reuse',
      f,
      await batchOfOne('admission.consume', { tier: 'parity', subject: 'r2', requestId: 'parity-rid' }, gateway),
    );
  });

  test('database unavailable: 503 + Retry-After on both (cached tokens, so the procedure itself fails)', async () => {
    await proxy.cut();
    try {
      const input = { tier: 'parity', subject: 'outage' };
      const f = await single('admission.consume', input, gateway);
      expect(f.status).toBe(503);
      expect(f.headers['retry-after']).toBe('1');
      await expectSame('consume, database cut', f, await batchOfOne('admission.consume', input, gateway));
      const report = { intervalSeconds: 5, samples: [sample(2, [gpu(0)])] };
      const r = await single('agent.report', report, nodes[0]!);
      expect(r.status).toBe(503);
      await expectSame('report, database cut', r, await batchOfOne('agent.report', report, nodes[0]!));
    } finally {
      await proxy.restore();
    }
  });
});

describe('what the console writes itself', () => {
  test('nosniff, no-store and a CSP on /api/health, /metrics, adapter answers and edge errors; not our CSP on pages', async () => {
    const own = [
      await fetch(`${c.url}/api/health`),
      await fetch(`${c.url}/metrics`),
      await fetch(`${c.url}/api/trpc/auth.me`),
      await fetch(`${c.url}/api/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: '{}',
      }),
    ];
    for (const r of own) {
      expect(r.headers.get('x-content-type-options'), r.url).toBe('nosniff');
      expect(r.headers.get('cache-control'), r.url).toBe('no-store');
      expect(r.headers.get('content-security-policy'), r.url).toBe("default-src 'none'; frame-ancestors 'none'");
    }
    const page = await fetch(`${c.url}/login`);
    expect(page.headers.get('content-security-policy')).not.toBe("default-src 'none'; frame-ancestors 'none'");
  });

  test('a throttled sign-in is 429 with Retry-After from the throttle', async () => {
    let last: Response | null = null;
    for (let i = 0; i < 8; i++) {
      last = await fetch(`${c.url}/api/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'wrong-password-guess' }),
      });
      if (last.status === 429) break;
    }
    expect(last!.status).toBe(429);
    const retry = Number(last!.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(15 * 60);
    const body = (await last!.json()) as { error: { data: { details?: { retryAfterSeconds?: number } } } };
    expect(body.error.data.details?.retryAfterSeconds).toBe(retry);
  });
});
