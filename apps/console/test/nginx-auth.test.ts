// nginx in front of the image generator, Coolant decides: Debian's real nginx runs
// deploy/nginx/generator.conf (support/nginx.ts) in front of a fake generator and a real console,
// with the fail-mode map written by deploy/nginx/coolant-fail-modes.mjs. The 4th generation of a
// free user is a 429 with Retry-After, a pause is a 429 with its reason, and when Coolant cannot
// decide (console stopped, or its database gone) each tier's fail mode decides (plus: open,
// served; free: closed, 503).
import { createTestDatabase } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, gatewayToken, waitForConfig } from './support/api';
import { startConsole, type TConsoleProcess } from './support/console-process';
import {
  failModeMap,
  generate as generateThrough,
  nginxTool,
  startFakeGenerator,
  startNginx,
  type TFakeGenerator,
  type TNginx,
} from './support/nginx';
import { startTcpProxy, type TTcpProxy } from './support/tcp-proxy';

if (nginxTool.skip !== undefined) console.warn(`[nginx-auth] skipped: ${nginxTool.skip}`);

describe.skipIf(nginxTool.skip !== undefined)(
  'nginx auth_request in front of the generator (deploy/nginx/generator.conf)',
  () => {
    let consoleProc: TConsoleProcess;
    let gen: TFakeGenerator;
    let nginx: TNginx;
    let gw: string;
    const generate = (tier: string, user: string | null) => generateThrough(nginx.base, tier, user);
    const nginxLog = () => nginx.log();

    beforeAll(async () => {
      [consoleProc, gen] = await Promise.all([startConsole(), startFakeGenerator()]);
      gw = await gatewayToken(consoleProc.url, consoleProc.adminToken, 'nginx');
      const failModes = await failModeMap(consoleProc.url, consoleProc.adminToken);
      // The seeded tiers: free fails closed, plus fails open.
      expect(failModes).toContain('"free" closed;');
      expect(failModes).toContain('"plus" open;');
      nginx = await startNginx({ generatorPort: gen.port, consolePort: consoleProc.port, gatewayToken: gw, failModes });
    });

    afterAll(async () => {
      await nginx?.stop();
      await consoleProc?.stop();
      await gen?.close();
    });

    test('a free user (3 a day) is served three times with a ticket, the 4th gets 429 with Retry-After; a missing subject is a 400 naming the header', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await generate('free', 'alice');
        expect(r.status, nginxLog()).toBe(200);
        expect(await r.json()).toEqual({ image: 'generated' });
        expect(r.headers.get('ratelimit')).toContain(`"free-day";r=${2 - i};t=`);
        expect(r.headers.get('ratelimit-policy')).toContain('"free-day";q=3;w=86400');
      }
      // The generator got the request with its ticket; headers only Coolant may set never came from the client.
      expect(gen.seen).toHaveLength(3);
      expect(gen.seen[0]!.headers['x-coolant-ticket']).toMatch(/.+/);
      expect(gen.seen[0]!.headers['x-coolant-failed-open']).toBeUndefined();

      const fourth = await generate('free', 'alice');
      expect(fourth.status).toBe(429);
      expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(fourth.headers.get('x-coolant-reason')).toBe('quota_exceeded');
      expect(fourth.headers.get('ratelimit')).toContain('"free-day";r=0;t=');
      expect(await fourth.text()).toContain('quota_exceeded');
      expect(gen.seen).toHaveLength(3);

      const anonymous = await generate('free', null);
      expect(anonymous.status).toBe(400);
      expect(await anonymous.text()).toContain('X-Coolant-Subject is required');
      expect(gen.seen).toHaveLength(3);
    });

    test('the endpoint itself: 401 without a gateway token, 403 naming the bad header, 204 with a ticket admission.refund takes and a lease admission.release takes', async () => {
      const url = `${consoleProc.url}/api/auth/nginx`;
      const none = await fetch(url, { headers: { 'x-coolant-tier': 'plus', 'x-coolant-subject': 'bob' } });
      expect(none.status).toBe(401);
      expect(none.headers.get('x-coolant-reason')).toBe('unauthorized');

      const auth = { authorization: `Bearer ${gw}` };
      const badCost = await fetch(url, {
        headers: { ...auth, 'x-coolant-tier': 'plus', 'x-coolant-subject': 'bob', 'x-coolant-cost': 'two' },
      });
      expect(badCost.status).toBe(403);
      expect(badCost.headers.get('x-coolant-reason')).toBe('bad_request');
      expect(badCost.headers.get('x-coolant-message')).toBe("X-Coolant-Cost must be a whole number, got 'two'");
      const noTier = await fetch(url, { headers: { ...auth, 'x-coolant-subject': 'bob' } });
      expect(noTier.status).toBe(403);
      expect(noTier.headers.get('x-coolant-message')).toBe('X-Coolant-Tier is required');

      const ok = await fetch(url, {
        headers: { ...auth, 'x-coolant-tier': 'plus', 'x-coolant-subject': 'bob', 'x-coolant-cost': '2' },
      });
      expect(ok.status).toBe(204);
      expect(ok.headers.get('x-coolant-reason')).toBe('ok');
      const ticket = ok.headers.get('x-coolant-ticket');
      expect(ticket).toMatch(/.+/);
      // A real ticket of the one decision path: admission.refund takes it.
      expect(await call(consoleProc.url, 'admission.refund', { ticket }, gw)).toMatchObject({ refunded: true });

      // A lease, and admission.release takes its id.
      const leased = await fetch(url, {
        headers: { ...auth, 'x-coolant-tier': 'plus', 'x-coolant-subject': 'bob', 'x-coolant-lease-ttl': '60' },
      });
      expect(leased.status).toBe(204);
      const lease = leased.headers.get('x-coolant-lease');
      expect(lease).toMatch(/.+/);
      expect(Date.parse(leased.headers.get('x-coolant-lease-expires') ?? '')).toBeGreaterThan(Date.now());
      await call(consoleProc.url, 'admission.release', { lease, outcome: 'done' }, gw);
    });

    test('after pausing free, the next generation gets 429 with the pause reason', async () => {
      const { configVersion } = await call<{ configVersion: number }>(
        consoleProc.url,
        'tiers.pause',
        { tier: 'free', reason: 'GPU fleet maintenance' },
        consoleProc.adminToken,
      );
      await waitForConfig([consoleProc.url], configVersion);
      const r = await generate('free', 'carol');
      expect(r.status).toBe(429);
      expect(r.headers.get('x-coolant-reason')).toBe('tier_paused');
      expect(await r.text()).toContain('tier_paused GPU fleet maintenance');
      expect(gen.seen.some((s) => s.headers['x-user-id'] === 'carol')).toBe(false);
    });

    test('with the console stopped, the fail mode decides: plus (open) is served and marked failed-open, free (closed) gets 503', async () => {
      await consoleProc.stop();
      const open = await generate('plus', 'dave');
      expect(open.status, nginxLog()).toBe(200);
      expect(open.headers.get('x-coolant-reason')).toBe('coolant_unavailable');
      const served = gen.seen.find((s) => s.headers['x-user-id'] === 'dave');
      expect(served?.headers['x-coolant-failed-open']).toBe('1');
      expect(served?.headers['x-coolant-ticket']).toBeUndefined();

      const closed = await generate('free', 'erin');
      expect(closed.status).toBe(503);
      expect(closed.headers.get('retry-after')).toBe('5');
      expect(await closed.text()).toContain('coolant_unavailable');
      // A tier the map does not name fails closed.
      expect((await generate('no-such-tier', 'frank')).status).toBe(503);
      expect(gen.seen.some((s) => s.headers['x-user-id'] === 'erin' || s.headers['x-user-id'] === 'frank')).toBe(false);
    });
  },
);

describe.skipIf(nginxTool.skip !== undefined)(
  'nginx auth_request when the console is up but its PostgreSQL is gone',
  () => {
    let pg: Awaited<ReturnType<typeof createTestDatabase>>;
    let proxy: TTcpProxy;
    let consoleProc: TConsoleProcess;
    let gen: TFakeGenerator;
    let nginx: TNginx;

    beforeAll(async () => {
      pg = await createTestDatabase('coolant_console_test');
      const direct = new URL(pg.url);
      proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      const proxied = new URL(pg.url);
      proxied.port = String(proxy.port);
      [consoleProc, gen] = await Promise.all([startConsole({ databaseUrl: proxied.toString() }), startFakeGenerator()]);
      // Never used before the outage, so authenticating it needs the database (no credential cache).
      const gw = await gatewayToken(consoleProc.url, consoleProc.adminToken, 'nginx');
      const failModes = await failModeMap(consoleProc.url, consoleProc.adminToken);
      nginx = await startNginx({ generatorPort: gen.port, consolePort: consoleProc.port, gatewayToken: gw, failModes });
    });

    afterAll(async () => {
      await nginx?.stop();
      await consoleProc?.stop();
      await gen?.close();
      await proxy?.close();
      await pg?.drop();
    });

    test('the endpoint answers 503 (nginx: 500), so plus (open) is served marked failed-open and free (closed) gets 503; served normally once the database is back', async () => {
      await proxy.cut();
      const open = await generateThrough(nginx.base, 'plus', 'gina');
      expect(open.status, nginx.log()).toBe(200);
      expect(open.headers.get('x-coolant-reason')).toBe('coolant_unavailable');
      expect(gen.seen.at(-1)?.headers['x-coolant-failed-open']).toBe('1');
      const closed = await generateThrough(nginx.base, 'free', 'hank');
      expect(closed.status).toBe(503);
      expect(await closed.text()).toContain('coolant_unavailable');
      expect(gen.seen).toHaveLength(1);

      await proxy.restore();
      const back = await waitForServed(nginx.base, 'free', 'hank');
      expect(back.headers.get('ratelimit')).toContain('"free-day";r=2;t=');
      expect(gen.seen.at(-1)?.headers['x-coolant-ticket']).toMatch(/.+/);
    });
  },
);

async function waitForServed(base: string, tier: string, user: string): Promise<Response> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await generateThrough(base, tier, user);
    if (r.status === 200 || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}
