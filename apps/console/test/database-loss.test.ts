// A real console on a real PostgreSQL that goes away and comes back (through a
// TCP proxy the test cuts, so the shared cluster keeps running): every caller
// gets 503 + Retry-After and "database unavailable", never a 500 or the
// driver's message, and the console serves again without a restart.
import { createTestDatabase } from '@coolant/db/testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { call, createTier, gatewayToken, waitFor } from './support/api';
import { startConsole, type TConsoleProcess } from './support/console-process';
import { startTcpProxy, type TTcpProxy } from './support/tcp-proxy';

let pg: Awaited<ReturnType<typeof createTestDatabase>>;
let proxy: TTcpProxy;
let c: TConsoleProcess;

beforeAll(async () => {
  pg = await createTestDatabase('coolant_console_test');
  const direct = new URL(pg.url);
  proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const proxied = new URL(pg.url);
  proxied.port = String(proxy.port);
  // A 5 s credential cache (default 60 s), so the test can wait past it.
  c = await startConsole({ databaseUrl: proxied.toString(), env: { COOLANT_CREDENTIAL_CACHE_SECONDS: '5' } });
});

afterAll(async () => {
  await c?.stop();
  await proxy?.close();
  await pg?.drop();
});

type TAnswer = { what: string; status: number; retryAfter: string | null; text: string };

async function ask(what: string, path: string, init: RequestInit = {}): Promise<TAnswer> {
  const r = await fetch(`${c.url}${path}`, { ...init, signal: AbortSignal.timeout(20_000) });
  return { what, status: r.status, retryAfter: r.headers.get('retry-after'), text: await r.text() };
}

const json = (token: string | null, body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

test('with the database unreachable every kind of call is 503 + Retry-After "database unavailable" without the driver message; 200 again once it is back', async () => {
  await createTier(c.url, c.adminToken, 'loss-test', { minute: 1000 });
  const gateway = await gatewayToken(c.url, c.adminToken);
  // Tokens never used before the outage: authenticating them needs the database (no credential cache).
  const freshGateway = await gatewayToken(c.url, c.adminToken, 'fresh gateway');
  const freshAdmin = (
    await call<{ secret: string }>(c.url, 'tokens.create', { name: 'fresh admin', role: 'admin' }, c.adminToken)
  ).secret;
  // The admin token was cached by the calls above; a consume on the gateway token warms its cache too.
  const warm = await ask('warm', '/api/trpc/admission.consume', json(gateway, { tier: 'loss-test', subject: 'warm' }));
  expect(warm.status, warm.text).toBe(200);

  await proxy.cut();
  const cutAt = Date.now();
  const answers: TAnswer[] = [];
  answers.push(await ask('health', '/api/health'));
  answers.push(
    await ask(
      'fast path, uncached token',
      '/api/trpc/admission.consume',
      json(freshGateway, { tier: 'loss-test', subject: 'a' }),
    ),
  );
  answers.push(
    await ask('adapter, uncached token', '/api/trpc/tokens.list', {
      headers: { authorization: `Bearer ${freshAdmin}` },
    }),
  );
  answers.push(
    await ask('adapter, batch, uncached token', '/api/trpc/tokens.list,fleet.list?batch=1&input=%7B%7D', {
      headers: { authorization: `Bearer ${freshAdmin}` },
    }),
  );
  answers.push(
    await ask(
      'public procedure (auth.login)',
      '/api/trpc/auth.login',
      json(null, { username: 'admin', password: 'test-admin-password' }),
    ),
  );
  answers.push(
    await ask('page with a session cookie', '/', { headers: { cookie: 'coolant_session=cs_some_session_0123456789' } }),
  );
  // Past the credential cache: the tokens the console knew must be looked up again.
  await new Promise((r) => setTimeout(r, Math.max(0, 5_500 - (Date.now() - cutAt))));
  answers.push(
    await ask('adapter, cache lapsed', '/api/trpc/fleet.list', {
      headers: { authorization: `Bearer ${c.adminToken}` },
    }),
  );
  answers.push(
    await ask(
      'fast path, cache lapsed',
      '/api/trpc/admission.consume',
      json(gateway, { tier: 'loss-test', subject: 'b' }),
    ),
  );
  answers.push(await ask('/metrics', '/metrics'));

  for (const a of answers) {
    console.log(`[db-loss] ${a.what}: HTTP ${a.status} retry-after=${a.retryAfter} ${a.text.slice(0, 160)}`);
    expect(a.status, a.what).toBe(503);
    expect(a.retryAfter, a.what).toBe('1');
    expect(a.text, a.what).toContain('database unavailable');
    expect(a.text, a.what).not.toMatch(
      /prisma|invocation|Can't reach|ECONNREFUSED|Connection terminated|127\.0\.0\.1:\d+/i,
    );
  }

  await proxy.restore();
  const backAt = Date.now();
  await waitFor(
    '/api/health to answer 200',
    async () => (await ask('health', '/api/health')).status === 200,
    30_000,
    50,
  );
  await waitFor(
    'a consume on the uncached token to answer 200',
    async () =>
      (await ask('consume', '/api/trpc/admission.consume', json(freshGateway, { tier: 'loss-test', subject: 'c' })))
        .status === 200,
    30_000,
    50,
  );
  await waitFor(
    'tokens.list to answer 200',
    async () =>
      (await ask('tokens', '/api/trpc/tokens.list', { headers: { authorization: `Bearer ${freshAdmin}` } })).status ===
      200,
    30_000,
    50,
  );
  console.log(`[db-loss] answers were 200 again ${Date.now() - backAt} ms after the database came back`);
  expect(c.child.exitCode).toBeNull();
});
