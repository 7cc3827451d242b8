// Debian's real nginx running deploy/nginx/generator.conf (only its addresses, gateway token and
// fail-mode map path replaced) in front of a fake generator: what nginx-auth tests drive.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findOrInstallTool } from '../../../agent/test/helpers/debian-tool';
import { waitFor } from './api';
import { freePort } from './console-process';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CONF = join(ROOT, 'deploy/nginx/generator.conf');
const FAIL_MODES = join(ROOT, 'deploy/nginx/coolant-fail-modes.mjs');

/** nginx's path, or why the tests are skipped (installed first when missing, as root on Debian). */
export const nginxTool = findOrInstallTool('nginx', 'nginx');

/** Replaces `from` in the shipped config, failing when it is no longer there (the test would run another config). */
function replaceIn(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`deploy/nginx/generator.conf no longer contains ${JSON.stringify(from)}`);
  return text.split(from).join(to);
}

export type TSeen = { path: string; headers: IncomingHttpHeaders };
export type TFakeGenerator = { server: Server; port: number; seen: TSeen[]; close(): Promise<void> };

export async function startFakeGenerator(): Promise<TFakeGenerator> {
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
  return { server, port, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * The fail-mode map deploy/nginx/coolant-fail-modes.mjs writes from tiers.list. Asynchronous: a
 * blocked event loop would stall a TCP proxy of the test's own between the console and its database.
 */
export function failModeMap(consoleUrl: string, viewerToken: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [FAIL_MODES], {
      env: { ...process.env, COOLANT_URL: consoleUrl, COOLANT_TOKEN: viewerToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(`coolant-fail-modes.mjs exited ${code}: ${err}`)),
    );
  });
}

export type TNginx = { base: string; log(): string; stop(): Promise<void> };

/** nginx as a non-daemon with its own prefix, on a free loopback port. */
export async function startNginx(opts: {
  generatorPort: number;
  consolePort: number;
  gatewayToken: string;
  failModes: string;
}): Promise<TNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'coolant-nginx-'));
  writeFileSync(join(dir, 'fail-modes.map'), opts.failModes);
  const port = await freePort();
  let conf = readFileSync(CONF, 'utf8');
  conf = replaceIn(conf, 'server 127.0.0.1:8080;', `server 127.0.0.1:${opts.generatorPort};`);
  conf = replaceIn(conf, 'server 127.0.0.1:3000;', `server 127.0.0.1:${opts.consolePort};`);
  conf = replaceIn(conf, 'listen [::]:8000;', '');
  conf = replaceIn(conf, 'listen 8000;', `listen 127.0.0.1:${port};`);
  conf = replaceIn(conf, 'CHANGE-ME-gateway-token', opts.gatewayToken);
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
  let log = '';
  const child = spawn(nginxTool.path!, ['-p', dir, '-e', 'stderr', '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGQUIT');
    await exited;
  };
  try {
    await waitFor(
      'nginx to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${log}`);
        return (await fetch(`${base}/`).catch(() => null)) !== null;
      },
      15_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, log: () => log, stop };
}

/** A generation through nginx as a client sends it: tier and user in the headers the config reads. */
export function generate(base: string, tier: string, user: string | null): Promise<Response> {
  return fetch(`${base}/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tier': tier, ...(user ? { 'x-user-id': user } : {}) },
    body: JSON.stringify({ prompt: 'a lighthouse' }),
  });
}
