import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CONSOLE_NODE_ARGS } from '../../../../scripts/lib/console-node-args.mjs';

const ROOT = resolve(import.meta.dirname, '../../../..');

export type TConsoleProcess = {
  url: string;
  port: number;
  dataDir: string;
  adminToken: string;
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

export type TStartConsoleOptions = {
  databaseUrl?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Reuse a data dir (a restart on the same SQLite file and agent-facing state); default: a new temp dir. */
  dataDir?: string;
  /** Listen on this port (a restart where agents already point); default: a free one. */
  port?: number;
};

/**
 * A real console process, started the way `npm start` starts it (building
 * the Next app first if its build is stale), on its own port and data dir.
 */
export async function startConsole(opts: TStartConsoleOptions = {}): Promise<TConsoleProcess> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'coolant-console-'));
  const adminToken = 'test-admin-token-0123456789abcdef';
  let out = '';
  const child = spawn(process.execPath, [...CONSOLE_NODE_ARGS, join(ROOT, 'scripts/start.mjs')], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      COOLANT_DATA_DIR: dataDir,
      COOLANT_ADMIN_TOKEN: adminToken,
      COOLANT_ADMIN_PASSWORD: 'test-admin-password',
      COOLANT_LOCAL_AGENT: 'false',
      DATABASE_URL: opts.databaseUrl ?? '',
      NODE_ENV: 'production',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 240_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`console exited with ${child.exitCode}:\n${out}`);
    try {
      const r = await fetch(`${url}/api/health`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`console did not become healthy in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    dataDir,
    adminToken,
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** POST a tRPC mutation / GET a query over plain HTTP, as curl would. */
export async function trpc<T = unknown>(
  url: string,
  path: string,
  input: unknown,
  token: string | null,
  method: 'POST' | 'GET' = 'POST',
): Promise<{ status: number; headers: Headers; data: T; error: { message: string; data: { code: string } } | null }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const target =
    method === 'GET'
      ? `${url}/api/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`
      : `${url}/api/trpc/${path}`;
  const res = await fetch(target, {
    method,
    headers,
    ...(method === 'POST' ? { body: JSON.stringify(input ?? null) } : {}),
  });
  const json = (await res.json()) as { result?: { data: T }; error?: { message: string; data: { code: string } } };
  return { status: res.status, headers: res.headers, data: json.result?.data as T, error: json.error ?? null };
}
