/**
 * `probe --json` in the packaged agent (scripts/package-agent.mjs) on a stand-in GPU host: the
 * single executable with a PATH holding only the fake-GPU bin directory (a shell-script
 * nvidia-smi, basic tools, no node, no lspci), and the bundle with node on that PATH. No console:
 * the probe needs none.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZReportRequest } from '../../../packages/api/src/routers/agent';
import { PROBE_EXIT } from '../src/probe/probe-report';
import { AGENT_VERSION } from '../src/version';
import { FAKE_GPU_NAME, FAKE_GPU_UUID, makeGpuHostBin, onPath } from './helpers/fake-gpu-host';

const root = resolve(import.meta.dirname, '../../..');
const SEA = join(root, 'dist/agent/coolant-agent');
const BUNDLE = join(root, 'dist/agent/coolant-agent.mjs');
const temps: string[] = [];

function run(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

function expectFakeGpuPayload(stdout: string): void {
  const checked = ZReportRequest.safeParse(JSON.parse(stdout));
  expect(checked.success, JSON.stringify(checked.error?.issues)).toBe(true);
  const payload = checked.data!;
  expect(payload.agentVersion).toBe(AGENT_VERSION);
  const sample = payload.samples[0]!;
  expect(sample.seq).toBe(1);
  expect(sample.gpus).toMatchObject([
    { name: FAKE_GPU_NAME, uuid: FAKE_GPU_UUID, memoryTotalMiB: 81559, powerDrawW: 69.85, migEnabled: false },
  ]);
  expect(sample.health.nvidiaSmi).toMatchObject({ status: 'ok', unsupportedFields: [] });
  expect(sample.health.inventory.status).toBe('no-lspci');
  expect(sample.health.errors).toEqual([]);
}

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('probe in the packaged agent', () => {
  beforeAll(async () => {
    // Reused when build-info.json says it is fresh; the build's own self-test runs probe with an empty PATH.
    const build = await run(
      process.execPath,
      [join(root, 'scripts/package-agent.mjs'), '--if-stale', '--skip-measure'],
      {
        env: process.env,
        cwd: root,
        timeoutMs: 300_000,
      },
    );
    if (build.code !== 0)
      throw new Error(`npm run agent:package failed (${build.code}):\n${build.stdout}${build.stderr}`);
  });

  afterAll(() => {
    for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('dist/agent/coolant-agent probe --json reports the fake GPU with only the fake-bin directory on PATH (no node)', async () => {
    const bin = makeGpuHostBin({ withNode: false });
    temps.push(bin);
    expect(onPath('node', bin), 'node must not be on this PATH').toBe(false);
    const r = await run(SEA, ['probe', '--json'], { env: { PATH: bin }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(PROBE_EXIT.ok);
    expectFakeGpuPayload(r.stdout);
    expect(r.stderr).toContain('no lspci on PATH: the GPU inventory comes from nvidia-smi only');
    const table = await run(SEA, ['probe'], { env: { PATH: bin }, timeoutMs: 60_000 });
    expect(table.code, table.stderr).toBe(PROBE_EXIT.ok);
    expect(table.stdout).toContain(FAKE_GPU_NAME);
  });

  it('dist/agent/coolant-agent probe exits 3 when the host has no nvidia-smi', async () => {
    const bin = makeGpuHostBin({ withNode: false });
    temps.push(bin);
    rmSync(join(bin, 'nvidia-smi'));
    const r = await run(SEA, ['probe'], { env: { PATH: bin }, timeoutMs: 60_000 });
    expect(r.code).toBe(PROBE_EXIT.noGpuTelemetry);
    expect(r.stdout).toContain('no GPU telemetry: nvidia-smi not found on PATH');
  });

  it('dist/agent/coolant-agent.mjs probe --json runs through its shebang with node on PATH', async () => {
    const bin = makeGpuHostBin({ withNode: true });
    temps.push(bin);
    const r = await run(BUNDLE, ['probe', '--json'], { env: { PATH: bin }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(PROBE_EXIT.ok);
    expectFakeGpuPayload(r.stdout);
  });
});
