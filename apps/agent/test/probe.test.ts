/**
 * `coolant-agent probe` on the telemetry package's fixtures (H100 with and without MIG, H200,
 * L40S, GeForce), replayed by its fake nvidia-smi and lspci on a PATH that holds nothing else, so
 * the probe runs the agent's real collector (nvidia-smi parsing, the lspci inventory child, host
 * metrics) and its real spool and sender.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ZTelemetrySample } from '@coolant/telemetry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ZReportRequest } from '../../../packages/api/src/routers/agent';
import { createFakeHost, loadFixture, type TFakeHost } from '../../../packages/telemetry/test/fakes/fake-host';
import type { TGpuFixture } from '../../../packages/telemetry/test/fixtures/fixture-types';
import { USAGE } from '../src/config';
import { runProbeCommand, PROBE_USAGE } from '../src/probe/probe';
import { PROBE_EXIT } from '../src/probe/probe-report';
import { AGENT_VERSION } from '../src/version';

const agentDir = resolve(import.meta.dirname, '..');
const hosts: TFakeHost[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const host of hosts.splice(0)) await host.cleanup();
});

async function fakeHost(options: Parameters<typeof createFakeHost>[0]): Promise<TFakeHost> {
  const host = await createFakeHost(options);
  hosts.push(host);
  return host;
}

async function probe(host: TFakeHost, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runProbeCommand(
    ['probe', ...args],
    host.env,
    { out: (t) => void (out += t), err: (t) => void (err += t) },
    host.hostFiles,
  );
  return { code, out, err };
}

/** The payload --json prints, checked against the console's own agent.report input schema. */
function parsePayload(out: string) {
  const payload: unknown = JSON.parse(out);
  const checked = ZReportRequest.safeParse(payload);
  expect(checked.success, JSON.stringify(checked.error?.issues)).toBe(true);
  return checked.data!;
}

/** A fixture with two GPUs: the first one twice, on another bus with another uuid and index. */
async function twoGpuFixture(id: string): Promise<TGpuFixture> {
  const fixture = await loadFixture(id);
  for (const gpus of Object.values(fixture.samples)) {
    const first = gpus[0]!;
    gpus.push({ ...first, index: '1', uuid: `${first['uuid']}-second`, 'pci.bus_id': '00000000:84:00.0' });
  }
  return fixture;
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const tsx = pathToFileURL(createRequire(join(agentDir, 'package.json')).resolve('tsx')).href;
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', tsx, join(agentDir, 'src/main.ts'), ...args], {
      cwd: agentDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

describe('coolant-agent probe', () => {
  it.each(['h100-80gb-hbm3', 'h100-mig', 'h200', 'l40s', 'geforce-rtx-4080-super', 'geforce-rtx-2080-super'])(
    'names every GPU of %s in its table, with the host and the collector health',
    async (id) => {
      const fixture = await twoGpuFixture(id);
      const host = await fakeHost({ fixture });
      const r = await probe(host);
      expect(r.err).toBe('');
      const name = fixture.samples['idle']![0]!['name']!;
      const gpuLines = r.out.split('\n').filter((l) => /^ {2}[01] {2}/.test(l));
      expect(gpuLines).toHaveLength(2);
      for (const line of gpuLines) expect(line).toContain(name);
      expect(r.out).toContain('GPUs (2)');
      expect(r.out).toMatch(/^Host$/m);
      expect(r.out).toMatch(/^Collector health$/m);
      expect(r.out).toMatch(/nvidia-smi +ok \(\d+ fields queried\)/);
      // The fixtures' lspci lists one NVIDIA controller; nvidia-smi now lists two.
      expect(r.out).toMatch(/inventory mismatch: lspci lists 1 NVIDIA controller, nvidia-smi reports 2 GPUs/);
      expect(r.code).toBe(PROBE_EXIT.collectorErrors);
    },
  );

  it('shows MIG mode, memory, temperature, power and clocks of an H100 with MIG enabled, and says why utilization is missing', async () => {
    const host = await fakeHost({ fixture: 'h100-mig' });
    const r = await probe(host);
    const row = r.out.split('\n').find((l) => l.includes('NVIDIA H100 80GB HBM3'))!;
    expect(row).toMatch(/59 \/ 81559 MiB +n\/a \(MIG\) +42 \/ 48 °C +71\.2 \/ 700\.0 W +345 \/ 2619 MHz +P0 +enabled/);
    expect(r.out).toContain(
      'not available: utilization.gpu on GPU 0: MIG is enabled: nvidia-smi gives no whole-GPU utilization ([N/A])',
    );
    expect(r.out).toContain('exit 0: GPU telemetry collected');
    expect(r.code).toBe(PROBE_EXIT.ok);
  });

  it('--json prints the report the agent would post, valid for the console, with notes on stderr only', async () => {
    const host = await fakeHost({ fixture: 'l40s' });
    const r = await probe(host, '--json');
    expect(r.code).toBe(PROBE_EXIT.ok);
    const payload = parsePayload(r.out);
    expect(payload.agentVersion).toBe(AGENT_VERSION);
    expect(payload.intervalSeconds).toBe(5);
    expect(payload.samples).toHaveLength(1);
    const sample = ZTelemetrySample.parse(payload.samples[0]);
    // What the spool assigns to the first sample of a fresh node.
    expect(sample).toMatchObject({ seq: 1, spoolDropped: 0 });
    expect(sample.gpus).toMatchObject([{ name: 'NVIDIA L40S', index: 0, memoryTotalMiB: 46068 }]);
    expect(sample.health).toMatchObject({ errors: [], gpuCount: 1, inventoryMismatch: false });
    expect(sample.health.inventory).toMatchObject({ status: 'ok', nvidiaControllers: 1 });
    expect(sample.host.memTotalBytes).toBe(16 * 1024 * 1024 * 1024);
    // L40S prints temperature.memory as "N/A" (no brackets): called out, not a failure.
    expect(sample.gpus[0]!.temperatureMemory).toBeNull();
    expect(r.err).toContain('coolant-agent probe: not available: temperature.memory on GPU 0');
  });

  it('without lspci (a GPU container) says the inventory comes from nvidia-smi only, and still exits 0', async () => {
    const host = await fakeHost({ fixture: 'h200', lspci: false });
    const table = await probe(host);
    expect(table.code).toBe(PROBE_EXIT.ok);
    expect(table.out).toContain('NVIDIA H200');
    expect(table.out).toContain(
      'no lspci on PATH: the GPU inventory comes from nvidia-smi only, as in most GPU containers',
    );
    expect(table.out).toMatch(/PCI inventory +unknown: no lspci \(inventory from nvidia-smi only\)/);
    const json = await probe(host, '--json');
    expect(json.code).toBe(PROBE_EXIT.ok);
    const sample = parsePayload(json.out).samples[0]!;
    expect(sample.host.gpuInventory).toBeNull();
    expect(sample.health.inventory.status).toBe('no-lspci');
    expect(json.err).toContain('no lspci on PATH');
    // lspci was never run (there is none); nvidia-smi was.
    expect((await host.calls()).map((c) => c.tool)).not.toContain('lspci');
  });

  it('reports a field the driver answers [N/A] for, and one it does not support at all', async () => {
    const fixture = await loadFixture('h100-80gb-hbm3');
    for (const gpus of Object.values(fixture.samples)) gpus[0]!['power.draw'] = '[N/A]';
    // An older driver that does not know ECC volatile totals at all.
    fixture.helpQueryGpu = fixture.helpQueryGpu.filter(
      (names) => !names.includes('ecc.errors.corrected.volatile.total'),
    );
    const host = await fakeHost({ fixture });
    const r = await probe(host);
    expect(r.out).toContain('not available: power.draw on GPU 0: nvidia-smi answered [N/A]');
    expect(r.out).toContain(
      "unsupported: ecc.errors.corrected.volatile.total on GPU 0: not in this driver's --help-query-gpu, so not queried",
    );
    expect(r.out).toMatch(/unsupported +ecc\.errors\.corrected\.volatile\.total$/m);
    expect(r.out).toMatch(/power draw\/limit/);
    expect(r.out.split('\n').find((l) => l.includes('NVIDIA H100'))).toContain('– / 700.0 W');
    expect(r.code).toBe(PROBE_EXIT.ok);
    const sample = parsePayload((await probe(host, '--json')).out).samples[0]!;
    expect(sample.gpus[0]!.powerDrawW).toBeNull();
    expect(sample.health.nvidiaSmi.unsupportedFields).toEqual(['ecc.errors.corrected.volatile.total']);
  });

  it('with neither nvidia-smi nor lspci says nothing lists the GPUs, and says why once', async () => {
    const host = await fakeHost({ fixture: 'h200', nvidiaSmi: false, lspci: false });
    const r = await probe(host);
    expect(r.code).toBe(PROBE_EXIT.noGpuTelemetry);
    expect(r.out).toContain('no lspci on PATH either: nothing on this host lists its GPUs');
    expect(r.out).not.toContain('comes from nvidia-smi only, as in most GPU containers');
    expect(r.out.match(/nvidia-smi not found on PATH/g)).toHaveLength(3); // GPUs, health row, the note
    expect(r.out).not.toContain('collector error:');
  });

  it('opens no network connection', async () => {
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    const host = await fakeHost({ fixture: 'h200' });
    expect((await probe(host, '--json')).code).toBe(PROBE_EXIT.ok);
    expect(connect).not.toHaveBeenCalled();
  });

  it('from the command line: nvidia-smi missing is a clear message and exit 3, with no --server or token', async () => {
    const host = await fakeHost({ fixture: 'h100-80gb-hbm3', nvidiaSmi: false });
    const table = await runCli(['probe'], host.env);
    expect(table.code).toBe(PROBE_EXIT.noGpuTelemetry);
    expect(table.stdout).toContain(
      `no GPU telemetry: nvidia-smi not found on PATH (PATH=${host.env['PATH']}); install the NVIDIA driver's utilities`,
    );
    expect(table.stdout).toContain('exit 3: no GPU telemetry');
    const json = await runCli(['probe', '--json'], host.env);
    expect(json.code).toBe(PROBE_EXIT.noGpuTelemetry);
    const sample = parsePayload(json.stdout).samples[0]!;
    expect(sample.gpus).toEqual([]);
    expect(sample.health.nvidiaSmi.status).toBe('missing');
    expect(json.stderr).toContain('coolant-agent probe: no GPU telemetry: nvidia-smi not found on PATH');
  });

  it('from the command line: --json on a host with a GPU exits 0; a bad flag exits 2', async () => {
    const host = await fakeHost({ fixture: 'geforce-rtx-4080-super' });
    const r = await runCli(['probe', '--json'], host.env);
    expect(r.code, r.stderr).toBe(PROBE_EXIT.ok);
    expect(parsePayload(r.stdout).samples[0]!.gpus[0]!.name).toBe('NVIDIA GeForce RTX 4080 SUPER');
    const bad = await runCli(['probe', '--jsno'], host.env);
    expect(bad.code).toBe(PROBE_EXIT.usage);
    expect(bad.stderr).toMatch(/Unknown option '--jsno'/);
  });

  it('documents every exit code in --help and in probe --help', () => {
    for (const [code, text] of [
      [PROBE_EXIT.ok, 'GPU telemetry collected'],
      [PROBE_EXIT.failed, 'the probe itself failed'],
      [PROBE_EXIT.usage, 'bad arguments'],
      [PROBE_EXIT.noGpuTelemetry, 'no GPU telemetry: nvidia-smi is missing'],
      [PROBE_EXIT.collectorErrors, 'GPU telemetry collected, but the collector reported errors'],
      [PROBE_EXIT.invalidPayload, 'the payload does not match the report schema'],
    ] as const) {
      expect(USAGE).toContain(`  ${code}  ${text}`);
      expect(PROBE_USAGE).toContain(`  ${code}  ${text}`);
    }
    expect(USAGE).toContain('coolant-agent probe [--json]');
  });
});
