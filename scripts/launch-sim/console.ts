/**
 * The console under test, started as `npm start` starts it (scripts/start.mjs: the built bundle on
 * plain node, built first if stale) on a free port of 127.0.0.1 with its own SQLite data dir and no
 * local agent. As apps/console/test/support/console-process.ts does for the tests, but finding the
 * repository from wherever this code runs: the bench runs bundled from bench/.scratch/bundled/.
 */
import { CONSOLE_NODE_ARGS } from '../lib/console-node-args.mjs';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type TSimConsole = { url: string; pid: number; dataDir: string; adminToken: string; stop(): Promise<void> };

export function repositoryRoot(from = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'scripts/start.mjs')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no Coolant checkout (scripts/start.mjs) above ${from}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

export async function startSimConsole(env: Record<string, string>): Promise<TSimConsole> {
  const root = repositoryRoot();
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'coolant-launch-console-'));
  const adminToken = 'launch-sim-admin-token-0123456789abcdef';
  let out = '';
  const child = spawn(process.execPath, [...CONSOLE_NODE_ARGS, join(root, 'scripts/start.mjs')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      COOLANT_DATA_DIR: dataDir,
      COOLANT_ADMIN_TOKEN: adminToken,
      COOLANT_ADMIN_PASSWORD: 'launch-sim-admin-password',
      COOLANT_LOCAL_AGENT: 'false',
      DATABASE_URL: '',
      NODE_ENV: 'production',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  // The first start may build the console (minutes on two cores).
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`console exited with ${child.exitCode}:\n${out}`);
    }
    const ok = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`console did not become healthy in 300 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    pid: child.pid ?? 0,
    dataDir,
    adminToken,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
