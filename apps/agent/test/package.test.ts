/**
 * The packaged agent (scripts/package-agent.mjs) on a stand-in GPU host: the single executable
 * under a PATH with no node, the bundle under a PATH with node but no lspci, each against a real
 * console started with scripts/start.mjs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ROLE_ENV } from '../src/packaging';
import { FAKE_GPU_NAME, makeGpuHostBin, onPath } from './helpers/fake-gpu-host';

const root = resolve(import.meta.dirname, '../../..');
const SEA = join(root, 'dist/agent/coolant-agent');
const BUNDLE = join(root, 'dist/agent/coolant-agent.mjs');
const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`;
const ENROLL_TOKEN = `enroll-${randomBytes(16).toString('hex')}`;
const CONSOLE_START_MS = 300_000;

const temps: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

type TRun = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

function run(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string },
): Promise<TRun> {
  return new Promise((res, rej) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}

type TConsole = { url: string; process: ChildProcess; log: () => string };

/** `npm start` as an operator runs it, minus the local agent; the first start builds Next. */
async function startConsole(): Promise<TConsole> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    COOLANT_DATA_DIR: tempDir('coolant-console-data-'),
    COOLANT_ADMIN_TOKEN: ADMIN_TOKEN,
    COOLANT_ENROLL_TOKEN: ENROLL_TOKEN,
    COOLANT_LOCAL_AGENT: 'false',
  };
  // SQLite in the temp data dir, whatever database this shell points at.
  delete env.DATABASE_URL;
  // Its own process group, so the console's children go with it when the tests end.
  const child = spawn(process.execPath, [join(root, 'scripts/start.mjs')], {
    cwd: root,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (c: Buffer) => (log = (log + c.toString('utf8')).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + CONSOLE_START_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the console exited (${child.exitCode ?? child.signalCode}) before answering:\n${log}`);
    try {
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return { url, process: child, log: () => log };
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the console did not answer /api/health within ${CONSOLE_START_MS / 1000}s:\n${log}`);
}

async function stopConsole(c: TConsole | undefined): Promise<void> {
  const pid = c?.process.pid;
  if (!pid || c.process.exitCode !== null || c.process.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.process.once('exit', () => r()));
  process.kill(-pid, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-pid, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// The executable is a copy of the node running the build, so it is built and run on linux-x64 only.
describe.runIf(process.platform === 'linux' && process.arch === 'x64')(
  'the packaged agent on a stand-in GPU host',
  () => {
    let consoleServer: TConsole | undefined;

    beforeAll(async () => {
      // Both take a while; the build is reused when build-info.json says it is fresh.
      const [build, started] = await Promise.allSettled([
        run(process.execPath, [join(root, 'scripts/package-agent.mjs'), '--if-stale', '--skip-measure'], {
          env: process.env,
          cwd: root,
          timeoutMs: 300_000,
        }),
        startConsole(),
      ]);
      if (started.status === 'fulfilled') consoleServer = started.value;
      if (build.status === 'rejected') throw build.reason;
      if (build.value.code !== 0)
        throw new Error(
          `npm run agent:package failed (${build.value.code ?? build.value.signal}):\n${build.value.stdout}${build.value.stderr}`,
        );
      if (started.status === 'rejected') throw started.reason;
    });

    afterAll(async () => {
      await stopConsole(consoleServer);
      for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
    });

    type TFleetNode = { id: string; hostname: string; lastSeq: number; agentVersion: string | null; gpus?: unknown };

    async function fleet(): Promise<TFleetNode[]> {
      const res = await fetch(`${consoleServer!.url}/api/trpc/fleet.list`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const body = (await res.json()) as { result?: { data?: { nodes?: TFleetNode[] } } };
      expect(res.status, JSON.stringify(body)).toBe(200);
      return body.result?.data?.nodes ?? [];
    }

    /** Runs one agent cycle with `command` and returns the node the console now lists for it. */
    async function reportOnce(command: string, path: string): Promise<TFleetNode> {
      const stateDir = tempDir('coolant-agent-state-');
      const r = await run(command, ['--server', consoleServer!.url, '--state-dir', stateDir, '--once'], {
        // A host's environment, reduced to what an operator's shell would pass; the secret is not in argv.
        env: { PATH: path, HOME: tempDir('coolant-agent-home-'), COOLANT_ENROLL_TOKEN: ENROLL_TOKEN },
        timeoutMs: 60_000,
      });
      const c = consoleServer!.process;
      const consoleState =
        c.exitCode !== null || c.signalCode !== null ? `exited (${c.exitCode ?? c.signalCode})` : 'running';
      expect(
        { code: r.code, stderr: r.stderr },
        `the console is ${consoleState}; its output:\n${consoleServer!.log()}`,
      ).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/enrolled as node/);
      const { nodeId } = JSON.parse(readFileSync(join(stateDir, 'node.json'), 'utf8')) as { nodeId: string };
      const node = (await fleet()).find((n) => n.id === nodeId);
      expect(node, `node ${nodeId} in fleet.list`).toBeDefined();
      return node!;
    }

    function expectReported(node: TFleetNode): void {
      expect(node.hostname).toBe(hostname());
      expect(node.lastSeq).toBeGreaterThanOrEqual(1);
      expect(node.gpus).toHaveLength(1);
      expect(node.gpus).toMatchObject([{ name: FAKE_GPU_NAME }]);
    }

    describe('dist/agent/coolant-agent (single executable)', () => {
      it('enrolls and reports from a host without node', async () => {
        const bin = makeGpuHostBin({ withNode: false });
        temps.push(bin);
        expect(onPath('node', bin), 'node must not be on this PATH').toBe(false);
        expect(onPath('nvidia-smi', bin)).toBe(true);
        expectReported(await reportOnce(SEA, bin));
      });

      it('acts as the telemetry collector child when started in that role', async () => {
        const bin = makeGpuHostBin({ withNode: false });
        temps.push(bin);
        // What the collector's InventoryChild does: fork the program with an IPC channel, ask for
        // one inventory; the child answers and exits by itself (it is not resident).
        const child = spawn(SEA, [SEA], {
          env: { PATH: bin, [AGENT_ROLE_ENV]: 'collector' },
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
          serialization: 'json',
        });
        let stderr = '';
        child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
        const messages: { type?: string; id?: number; status?: string; controllers?: unknown[] }[] = [];
        let exitCode: number | null = null;
        try {
          await new Promise<void>((res, rej) => {
            const timer = setTimeout(
              () => rej(new Error(`the collector role did not answer and exit: ${JSON.stringify(messages)} ${stderr}`)),
              30_000,
            );
            child.on('message', (m: (typeof messages)[number]) => messages.push(m));
            child.on('exit', (code) => {
              clearTimeout(timer);
              exitCode = code;
              res();
            });
            child.send({ type: 'inventory', id: 1 });
          });
        } finally {
          child.kill('SIGKILL');
        }
        expect(exitCode, stderr).toBe(0);
        // No lspci on this host: systeminformation lists no controller (the collector says
        // "no-lspci" itself and would not have started the child).
        expect(messages).toEqual([{ type: 'inventory', id: 1, status: 'ok', controllers: [] }]);
      });

      it('refuses an unknown role instead of starting a second agent', async () => {
        const r = await run(SEA, ['--version'], { env: { [AGENT_ROLE_ENV]: 'colector' }, timeoutMs: 30_000 });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/unknown COOLANT_AGENT_ROLE=colector/);
      });
    });

    describe('dist/agent/coolant-agent.mjs (bundle)', () => {
      it('enrolls and reports from a host with node but without lspci', async () => {
        const bin = makeGpuHostBin({ withNode: true });
        temps.push(bin);
        expect(onPath('node', bin)).toBe(true);
        expect(onPath('lspci', bin), 'lspci must not be on this PATH').toBe(false);
        // Started through its shebang, so `env` finds node on this PATH as on a host.
        expectReported(await reportOnce(BUNDLE, bin));
      });
    });
  },
);
