/**
 * The smoke-job flow end to end with real agent processes (from source) and a
 * real console: a job queued with smoke.run reaches the agent by long poll,
 * is drawn and streamed back, and matches the reference; an agent whose
 * weights file was deliberately corrupted is flagged in a fleet-wide run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, trpc, type TConsoleProcess } from '../../console/test/support/console-process';

const ROOT = resolve(import.meta.dirname, '../../..');
const ENROLL = 'smoke-enroll-token-0123456789';

type TRun = {
  id: string;
  hostname: string | null;
  state: string;
  match: boolean | null;
  reason: string | null;
  rowsDone: number;
  height: number;
  firstRowMs: number | null;
};

function startAgent(
  c: TConsoleProcess,
  name: string,
  env: Record<string, string> = {},
  command: string[] = [
    process.execPath,
    join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
    join(ROOT, 'apps/agent/src/main.ts'),
  ],
): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), `coolant-smoke-${name}-`));
  return spawn(
    command[0]!,
    [...command.slice(1), '--server', c.url, '--state-dir', join(dir, 'state'), '--interval', '2', '--hostname', name],
    {
      env: { ...process.env, COOLANT_ENROLL_TOKEN: ENROLL, ...env },
      stdio: 'ignore',
    },
  );
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('smoke jobs on real agents', () => {
  let c: TConsoleProcess;
  const agents: ChildProcess[] = [];
  beforeAll(async () => {
    c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL } });
  });
  afterAll(async () => {
    for (const a of agents) a.kill('SIGTERM');
    await c?.stop();
  });

  async function online(name: string): Promise<string> {
    return waitFor(`${name} online`, async () => {
      const r = await trpc<{ nodes: { id: string; hostname: string; status: string }[] }>(
        c.url,
        'fleet.list',
        undefined,
        c.adminToken,
        'GET',
      );
      return r.data.nodes.find((n) => n.hostname === name && n.status === 'online')?.id;
    });
  }

  it('a job reaches the agent within a second, streams back, and matches the reference', async () => {
    agents.push(startAgent(c, 'smoke-good'));
    const nodeId = await online('smoke-good');
    const started = Date.now();
    const res = await trpc<{ runs: TRun[] }>(
      c.url,
      'smoke.run',
      { target: nodeId, prompt: 'GPU OK', seed: 11 },
      c.adminToken,
    );
    expect(res.error).toBeNull();
    const id = res.data.runs[0]!.id;
    const picked = await waitFor('the job to start', async () => {
      const r = await trpc<TRun & { startedAt: string | null }>(c.url, 'smoke.get', { id }, c.adminToken, 'GET');
      return r.data.startedAt;
    });
    console.log(`job picked up ${Date.parse(picked) - started} ms after smoke.run`);
    const done = await waitFor('the result', async () => {
      const r = await trpc<TRun>(c.url, 'smoke.get', { id }, c.adminToken, 'GET');
      return r.data.state === 'passed' || r.data.state === 'failed' ? r.data : null;
    });
    expect(done).toMatchObject({ state: 'passed', match: true, hostname: 'smoke-good' });
    expect(done.rowsDone).toBe(done.height);
  });

  it('the packaged single executable draws smoke jobs with the weights it carries', async () => {
    const build = spawnSync(
      process.execPath,
      [join(ROOT, 'scripts/package-agent.mjs'), '--if-stale', '--skip-measure'],
      { encoding: 'utf8' },
    );
    expect(build.status, build.stderr).toBe(0);
    agents.push(startAgent(c, 'smoke-sea', {}, [join(ROOT, 'dist/agent/coolant-agent')]));
    const nodeId = await online('smoke-sea');
    const res = await trpc<{ runs: TRun[] }>(
      c.url,
      'smoke.run',
      { target: nodeId, prompt: 'SEA', seed: 5 },
      c.adminToken,
    );
    const id = res.data.runs[0]!.id;
    const done = await waitFor('the result', async () => {
      const r = await trpc<TRun>(c.url, 'smoke.get', { id }, c.adminToken, 'GET');
      return r.data.state === 'passed' || r.data.state === 'failed' ? r.data : null;
    });
    expect(done).toMatchObject({ state: 'passed', match: true });
  });

  it('a fleet-wide run flags the agent started with a corrupted weights file', async () => {
    const corrupted = join(mkdtempSync(join(tmpdir(), 'coolant-weights-')), 'weights.bin');
    copyFileSync(join(ROOT, 'packages/generator/model/weights.bin'), corrupted);
    const bytes = readFileSync(corrupted);
    // Flip bits well inside the weights (not the header), as a bad disk or a broken build would.
    for (let i = bytes.length - 4096; i < bytes.length; i += 97) bytes[i] = bytes[i]! ^ 0x5a;
    writeFileSync(corrupted, bytes);
    agents.push(startAgent(c, 'smoke-corrupt', { COOLANT_GENERATOR_WEIGHTS: corrupted }));
    await online('smoke-corrupt');
    await online('smoke-good');
    await online('smoke-sea');
    const res = await trpc<{ batchId: string; runs: TRun[] }>(
      c.url,
      'smoke.run',
      { target: 'all', prompt: 'FLEET', seed: 3 },
      c.adminToken,
    );
    expect(res.error).toBeNull();
    const runs = await waitFor('every run of the batch to finish', async () => {
      const r = await trpc<{ runs: TRun[] }>(c.url, 'smoke.list', { batchId: res.data.batchId }, c.adminToken, 'GET');
      return r.data.runs.every((x) => x.state === 'passed' || x.state === 'failed') ? r.data.runs : null;
    });
    const byHost = Object.fromEntries(runs.map((r) => [r.hostname, r]));
    expect(byHost['smoke-good']).toMatchObject({ state: 'passed', match: true });
    expect(byHost['smoke-sea']).toMatchObject({ state: 'passed', match: true });
    expect(byHost['smoke-corrupt']).toMatchObject({ state: 'failed', match: false });
    expect(byHost['smoke-corrupt']!.reason).toMatch(/differs from the reference|the node reported/);
  });
});
