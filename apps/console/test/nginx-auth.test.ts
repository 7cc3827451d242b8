// nginx in front of the image generator, Coolant decides: Debian's real nginx runs
// deploy/nginx/generator.conf (only its addresses, token and map path replaced) in front of a fake
// generator and a real console, with the fail-mode map written by deploy/nginx/coolant-fail-modes.mjs.
// The 4th generation of a free user is a 429 with Retry-After, a pause is a 429 with its reason, and
// with the console stopped each tier's fail mode decides (plus: open, served; free: closed, 503).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findOrInstallTool } from '../../agent/test/helpers/debian-tool';
import { call, gatewayToken, waitFor, waitForConfig } from './support/api';
import { freePort, startConsole, type TConsoleProcess } from './support/console-process';

const ROOT = resolve(import.meta.dirname, '../../..');
const CONF = join(ROOT, 'deploy/nginx/generator.conf');
const FAIL_MODES = join(ROOT, 'deploy/nginx/coolant-fail-modes.mjs');

const tool = findOrInstallTool('nginx', 'nginx');
if (tool.skip !== undefined) console.warn(`[nginx-auth] skipped: ${tool.skip}`);

/** Replaces `from` in the shipped config, failing when it is no longer there (the test would run another config). */
function replaceIn(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`deploy/nginx/generator.conf no longer contains ${JSON.stringify(from)}`);
  return text.split(from).join(to);
}

type TSeen = { path: string; headers: IncomingHttpHeaders };

async function fakeGenerator(): Promise<{ server: Server; port: number; seen: TSeen[] }> {
  const seen: TSeen[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ image: 'generated' }));
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { server, port, seen };
}

describe.skipIf(tool.skip !== undefined)(
  'nginx auth_request in front of the generator (deploy/nginx/generator.conf)',
  () => {
    let consoleProc: TConsoleProcess;
    let gen: Awaited<ReturnType<typeof fakeGenerator>>;
    let nginx: ChildProcess;
    let nginxLog = '';
    let base: string;
    let gw: string;

    const generate = (tier: string, user: string | null) =>
      fetch(`${base}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tier': tier, ...(user ? { 'x-user-id': user } : {}) },
        body: JSON.stringify({ prompt: 'a lighthouse' }),
      });

    beforeAll(async () => {
      [consoleProc, gen] = await Promise.all([startConsole(), fakeGenerator()]);
      gw = await gatewayToken(consoleProc.url, consoleProc.adminToken, 'nginx');
      const dir = mkdtempSync(join(tmpdir(), 'coolant-nginx-'));

      const map = spawnSync(process.execPath, [FAIL_MODES], {
        env: { ...process.env, COOLANT_URL: consoleProc.url, COOLANT_TOKEN: consoleProc.adminToken },
        encoding: 'utf8',
      });
      expect(map.status, map.stderr).toBe(0);
      // The seeded tiers: free fails closed, plus fails open.
      expect(map.stdout).toContain('"free" closed;');
      expect(map.stdout).toContain('"plus" open;');
      writeFileSync(join(dir, 'fail-modes.map'), map.stdout);

      const port = await freePort();
      let conf = readFileSync(CONF, 'utf8');
      conf = replaceIn(conf, 'server 127.0.0.1:8080;', `server 127.0.0.1:${gen.port};`);
      conf = replaceIn(conf, 'server 127.0.0.1:3000;', `server 127.0.0.1:${consoleProc.port};`);
      conf = replaceIn(conf, 'listen [::]:8000;', '');
      conf = replaceIn(conf, 'listen 8000;', `listen 127.0.0.1:${port};`);
      conf = replaceIn(conf, 'CHANGE-ME-gateway-token', gw);
      conf = replaceIn(conf, '/etc/nginx/coolant-fail-modes.map', join(dir, 'fail-modes.map'));
      writeFileSync(join(dir, 'generator.conf'), conf);
      const t = (name: string) => `${name}_temp_path ${join(dir, name)};`;
      writeFileSync(
        join(dir, 'nginx.conf'),
        [
          'daemon off;',
          'master_process on;',
          'worker_processes 1;',
          `pid ${join(dir, 'nginx.pid')};`,
          'error_log stderr warn;',
          'events { worker_connections 256; }',
          `http { access_log off; ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(t).join(' ')}`,
          `  include ${join(dir, 'generator.conf')};`,
          '}',
        ].join('\n'),
      );
      nginx = spawn(tool.path!, ['-p', dir, '-e', 'stderr', '-c', join(dir, 'nginx.conf')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      nginx.stdout!.on('data', (d: Buffer) => (nginxLog += d.toString()));
      nginx.stderr!.on('data', (d: Buffer) => (nginxLog += d.toString()));
      base = `http://127.0.0.1:${port}`;
      await waitFor(
        'nginx to listen',
        async () => {
          if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}: ${nginxLog}`);
          return (await fetch(`${base}/`).catch(() => null)) !== null;
        },
        15_000,
      );
    });

    afterAll(async () => {
      if (nginx && nginx.exitCode === null) {
        const exited = new Promise((r) => nginx.once('exit', r));
        nginx.kill('SIGQUIT');
        await exited;
      }
      await consoleProc?.stop();
      await new Promise((r) => gen?.server.close(r));
    });

    test('a free user (3 a day) is served three times with a ticket, the 4th gets 429 with Retry-After; a missing subject is a 400 naming the header', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await generate('free', 'alice');
        expect(r.status, nginxLog).toBe(200);
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
      expect(open.status, nginxLog).toBe(200);
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
