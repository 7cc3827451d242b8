/**
 * Nothing the agent collected is lost on the way to a real console: a spool that lost its state
 * file (node token kept) numbers above what the console has instead of having its samples taken
 * for duplicates; a sample the console refuses on its own is quarantined and counted while its
 * neighbours are stored; a batch too large for the console is split, not retried whole forever.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool, type TCollectedSample, type TGpuSample } from '@coolant/telemetry';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApiClient } from '../../agent/src/api-client';
import { SpoolSender } from '../../agent/src/deliver';
import { call, metricsText, metricValue, parseMetrics, waitFor } from './support/api';
import { makeSimHost, runAgentOnce, startAgent, type TAgentProcess } from './support/agents';
import { startConsole, type TConsoleProcess } from './support/console-process';

const ENROLL = 'delivery-test-enroll-secret-01';

type TFleetNode = {
  id: string;
  lastSeq: number;
  health: { spoolQuarantined?: number; spoolQuarantineReason?: string | null } | null;
  charts: { hour: { gpuIndex: number; points: unknown[] }[] };
};

let c: TConsoleProcess;
const agents: TAgentProcess[] = [];
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

async function nodeByHostname(hostname: string): Promise<TFleetNode | null> {
  const list = await call<{ nodes: { id: string; hostname: string }[] }>(
    c.url,
    'fleet.list',
    undefined,
    c.adminToken,
    'GET',
  );
  const summary = list.nodes.find((n) => n.hostname === hostname);
  return summary ? call<TFleetNode>(c.url, 'fleet.node', { id: summary.id }, c.adminToken, 'GET') : null;
}

const samplesTaken = (stateDir: string) =>
  (JSON.parse(readFileSync(join(stateDir, 'spool/state.json'), 'utf8')) as { nextSeq: number }).nextSeq - 1;
const spooled = (stateDir: string) =>
  existsSync(join(stateDir, 'spool/records'))
    ? readdirSync(join(stateDir, 'spool/records')).filter((f) => f.endsWith('.json')).length
    : 0;
const ingested = async () => metricValue(parseMetrics((await metricsText(c.url)).text), 'coolant_ingest_samples_total');

beforeAll(async () => {
  c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL } });
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  await c?.stop();
});

test('after the spool directory is wiped (node token kept), every sample taken since is stored, those spooled while the console was down included', async () => {
  const host = makeSimHost({ seed: 21, gpus: 2 });
  const first = startAgent({ host, server: c.url, enrollToken: ENROLL, hostname: 'reset-node', intervalSeconds: 1 });
  agents.push(first);
  await waitFor(
    '10 samples from reset-node',
    async () => ((await nodeByHostname('reset-node'))?.lastSeq ?? 0) >= 10 || null,
    90_000,
    250,
  );
  expect(await first.stop()).toBe(0);
  const acceptedBefore = (await nodeByHostname('reset-node'))!.lastSeq;

  // The spool goes (state.json and records); node.json stays. While the console is down the new
  // spool numbers from 1 again, below what the console already has.
  rmSync(join(host.stateDir, 'spool'), { recursive: true });
  await c.stop();
  const second = startAgent({ host, server: c.url, enrollToken: ENROLL, hostname: 'reset-node', intervalSeconds: 1 });
  agents.push(second);
  await waitFor('the new spool to hold 3 samples', async () => spooled(host.stateDir) >= 3 || null, 30_000, 200);
  c = await startConsole({ dataDir: c.dataDir, port: c.port, env: { COOLANT_ENROLL_TOKEN: ENROLL } });
  await waitFor(
    'the spool to drain above the old numbering',
    async () => ((await nodeByHostname('reset-node'))?.lastSeq ?? 0) > acceptedBefore + 3 || null,
    90_000,
    250,
  );
  expect(await second.stop()).toBe(0);
  const onceOutput = await runAgentOnce({ host, server: c.url, enrollToken: ENROLL, hostname: 'reset-node' });

  const taken = samplesTaken(host.stateDir);
  const afterReset = taken - acceptedBefore;
  const node = (await nodeByHostname('reset-node'))!;
  expect(spooled(host.stateDir)).toBe(0);
  expect(node.lastSeq).toBe(taken);
  // This console instance started after the reset: it stored exactly the samples taken since.
  expect(await ingested()).toBe(afterReset);
  expect(second.output() + onceOutput).toMatch(
    new RegExp(`spool state was lost: \\d+ samples renumbered above ${acceptedBefore}`),
  );
  console.log(
    `[reset] console had ${acceptedBefore}; ${afterReset} samples taken after the spool was wiped, all stored (seq ${acceptedBefore + 1}..${taken})`,
  );
});

function gpu(index: number): TGpuSample {
  return {
    index,
    uuid: `GPU-${index}`,
    name: 'NVIDIA H200',
    pciBusId: `00000000:0${index}:00.0`,
    driverVersion: '580.159.04',
    utilizationGpu: 10,
    utilizationMemory: 1,
    temperatureGpu: 40,
    temperatureMemory: 41,
    memoryUsedMiB: 1,
    memoryTotalMiB: 143771,
    powerDrawW: 80,
    powerLimitW: 700,
    clockGraphicsMHz: 345,
    clockMemoryMHz: 3201,
    fanPercent: null,
    pstate: 'P0',
    throttleReasons: null,
    eccCorrected: 0,
    eccUncorrected: 0,
    migEnabled: false,
  };
}

function collected(i: number, errors: string[] = []): TCollectedSample {
  return {
    collectedAt: new Date(Date.now() - 600_000 + i * 1000).toISOString(),
    host: { hostname: 'sender', cpuLoadPercent: 1, memUsedBytes: 1, memTotalBytes: 2, os: null, gpuInventory: null },
    gpus: [gpu(0), gpu(1)],
    health: {
      durationMs: 10,
      errors,
      gpuCount: 2,
      nvidiaSmi: { status: 'ok', exitCode: 0, message: null, queriedFields: [], unsupportedFields: [] },
      hostMetrics: { status: 'ok', message: null },
      inventory: { status: 'no-lspci', nvidiaControllers: null, message: null },
      timeouts: [],
      inventoryMismatch: false,
      inventoryMismatchReason: null,
    },
  };
}

/** The agent's delivery code (its spool, client and sender) on a node enrolled with the real console. */
async function sender(hostname: string, opts: { maxBatchBytes?: number; corrupt?: (seq: number) => boolean } = {}) {
  let token: string | null = null;
  const api = createApiClient(c.url, () => token);
  ({ nodeToken: token } = await api.agent.enroll.mutate({ enrollToken: ENROLL, hostname }));
  const dir = mkdtempSync(join(tmpdir(), 'coolant-sender-'));
  const spool = await Spool.open({ dir, durable: false });
  const stats = { delivered: 0, quarantined: 0, reports: 0 };
  const s = new SpoolSender(
    spool,
    (batch) => {
      stats.reports++;
      // An agent older than the console's duplicate-GPU check would have spooled such a sample.
      const samples = batch.map((x) => (opts.corrupt?.(x.seq) ? { ...x, gpus: [gpu(0), gpu(1), gpu(1)] } : x));
      return api.agent.report.mutate({ intervalSeconds: 1, samples });
    },
    quiet,
    stats,
    opts,
  );
  await s.confirm(async () => (await api.agent.sequence.query()).acceptedUpTo);
  return { spool, spoolDir: dir, sender: s, stats };
}

test('a sample the console refuses on its own is quarantined and counted; its 99 neighbours are stored', async () => {
  const { spool, spoolDir, sender: s, stats } = await sender('quarantine-node', { corrupt: (seq) => seq === 37 });
  for (let i = 1; i <= 100; i++) await spool.append(collected(i));
  expect(await s.drain()).toBe(true);
  expect(spool.stats()).toMatchObject({ records: 0, quarantined: 1 });
  expect(stats).toMatchObject({ quarantined: 1, delivered: 99 });
  const node = (await nodeByHostname('quarantine-node'))!;
  expect(node.lastSeq).toBe(100);
  expect(node.charts.hour.find((x) => x.gpuIndex === 0)!.points).toHaveLength(99);
  const kept = JSON.parse(readFileSync(join(spoolDir, 'quarantine', '0000000000000037.json'), 'utf8')) as {
    reason: string;
  };
  expect(kept.reason).toBe('samples.0.gpus: duplicate GPU index 1');
  console.log(`[quarantine] 1 bad sample among 100 cost ${stats.reports} reports`);

  // The count travels in the next sample's health and the console shows it for the node.
  await spool.append(collected(101));
  expect(await s.drain()).toBe(true);
  expect((await nodeByHostname('quarantine-node'))!.health).toMatchObject({
    spoolQuarantined: 1,
    spoolQuarantineReason: 'samples.0.gpus: duplicate GPU index 1',
  });
  await spool.close();
});

test("a batch over the console's body cap is split until it fits, nothing quarantined", async () => {
  // ~100 KB per sample: 100 of them are over the console's 8 MiB agent.report cap.
  const { spool, sender: s, stats } = await sender('big-batch-node', { maxBatchBytes: 64 * 1024 * 1024 });
  const errors = Array.from({ length: 50 }, (_, i) => `${i}: ${'x'.repeat(1990)}`);
  for (let i = 1; i <= 100; i++) await spool.append(collected(i, errors));
  const total = spool.stats().bytes;
  expect(total).toBeGreaterThan(8 * 1024 * 1024);
  expect(await s.drain()).toBe(true);
  expect(spool.stats()).toMatchObject({ records: 0, quarantined: 0 });
  expect((await nodeByHostname('big-batch-node'))!.lastSeq).toBe(100);
  console.log(`[split] 100 samples, ${(total / 2 ** 20).toFixed(1)} MiB: ${stats.reports} reports`);
  await spool.close();
});
