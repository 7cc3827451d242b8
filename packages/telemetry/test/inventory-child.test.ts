/**
 * The PCI inventory is gathered by a short-lived child only when it is due (first cycle, every
 * inventoryRefreshMs, inventoryRetryMs after a failure, and the cycle nvidia-smi's GPU set
 * changes); between inventories no child of the collector exists, which is checked in /proc.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { createCollector, ZCollectedSample, type TCollectedSample, type TCollector } from '../src/index.ts';
import { childProcesses, createFakeHost, type TFakeHost } from './fakes/fake-host.ts';

const TIMEOUT_MS = 30_000;
const hosts: TFakeHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.cleanup()));
});

async function fakeHost(options: Parameters<typeof createFakeHost>[0]): Promise<TFakeHost> {
  const host = await createFakeHost(options);
  hosts.push(host);
  return host;
}

/** One cycle, then the check that matters here: nothing of the collector is left running. */
async function cycle(collector: TCollector): Promise<TCollectedSample> {
  const sample = await collector.collect({ timeoutMs: TIMEOUT_MS });
  expect(ZCollectedSample.parse(sample)).toEqual(sample);
  expect(collector.workerPid).toBeUndefined();
  expect(await childProcesses(process.pid, 'si-worker')).toEqual([]);
  expect(await childProcesses(process.pid, 'role-entry')).toEqual([]);
  return sample;
}

const inventories = async (host: TFakeHost) => (await host.calls()).filter((c) => c.tool === 'lspci').length;
const ourQueries = async (host: TFakeHost) =>
  (await host.calls()).filter(
    (c) => c.tool === 'nvidia-smi' && c.args[0]?.startsWith('--query-gpu=') && c.args[0].includes(',index,'),
  ).length;

test('a long-running collector: the inventory is gathered on the first cycle in a child that is gone afterwards, then reused with its age', async () => {
  const host = await fakeHost({ fixture: 'h200-recording' });
  const collector = createCollector({ env: host.env });
  try {
    const first = await cycle(collector);
    expect(first.health.inventory).toEqual({ status: 'ok', nvidiaControllers: 1, message: null, ageMs: 0 });
    await host.control({ sample: 'load' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await cycle(collector);
    const third = await cycle(collector);
    expect([first, second, third].map((s) => s.gpus[0]?.utilizationGpu)).toEqual([0, 100, 100]);
    // One lspci run (one child) for three cycles; one nvidia-smi query of ours per cycle.
    expect(await inventories(host)).toBe(1);
    expect(await ourQueries(host)).toBe(3);
    expect(second.host.gpuInventory).toEqual(first.host.gpuInventory);
    expect(second.health.inventory).toMatchObject({ status: 'ok', nvidiaControllers: 1 });
    expect(second.health.inventory.ageMs).toBeGreaterThanOrEqual(50);
    expect(third.health.inventory.ageMs).toBeGreaterThan(second.health.inventory.ageMs ?? Infinity);
    expect(third.health.inventoryMismatch).toBe(false);
  } finally {
    await collector.close();
  }
});

test('nvidia-smi losing a GPU gathers a fresh inventory in that very cycle, so the mismatch is against a current lspci', async () => {
  const host = await fakeHost({ fixture: 'h100-80gb-hbm3' });
  const collector = createCollector({ env: host.env });
  try {
    expect((await cycle(collector)).health.inventoryMismatch).toBe(false);
    await host.control({
      exit: {
        code: 15,
        message:
          'Unable to determine the device handle for GPU0000:00:09.0: GPU is lost.  Reboot the system to recover this GPU',
      },
    });
    const lost = await cycle(collector);
    expect(await inventories(host)).toBe(2);
    expect(lost.health.inventory.ageMs).toBe(0);
    expect(lost.health.inventoryMismatchReason).toBe(
      'lspci lists 1 NVIDIA controller, nvidia-smi failed and reports 0 GPUs (on PCI but not in nvidia-smi: 00:09.0)',
    );
    // Same (empty) set next cycle: the inventory is reused, the mismatch still stands.
    const still = await cycle(collector);
    expect(await inventories(host)).toBe(2);
    expect(still.health.inventoryMismatch).toBe(true);
  } finally {
    await collector.close();
  }
});

test('an inventory older than inventoryRefreshMs is gathered again', async () => {
  const host = await fakeHost({ fixture: 'l40s' });
  const collector = createCollector({ env: host.env, inventoryRefreshMs: 300 });
  try {
    await cycle(collector);
    await cycle(collector);
    expect(await inventories(host)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await cycle(collector)).health.inventory.ageMs).toBe(0);
    expect(await inventories(host)).toBe(2);
  } finally {
    await collector.close();
  }
});

test('a failed inventory is reported every cycle but retried only after inventoryRetryMs', async () => {
  const host = await fakeHost({ fixture: 'l40s' });
  // A child that counts its starts and exits without answering.
  const entry = path.join(host.dir, 'role-entry.mjs');
  const starts = path.join(host.dir, 'starts');
  await writeFile(starts, '');
  await writeFile(
    entry,
    `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(starts)}, 'x');\nprocess.exit(3);\n`,
  );
  const startCount = async () => (await readFile(starts, 'utf8')).length;
  const launch = { entry, execArgv: [] };

  const patient = createCollector({ env: host.env, workerLaunch: launch, inventoryRetryMs: 60_000 });
  try {
    const first = await cycle(patient);
    const second = await cycle(patient);
    expect(await startCount()).toBe(1);
    for (const s of [first, second]) {
      expect(s.health.inventory).toMatchObject({
        status: 'failed',
        message: 'inventory child exited (code 3) without an answer',
      });
      expect(s.health.errors).toEqual(['GPU inventory: inventory child exited (code 3) without an answer']);
      // nvidia-smi does not depend on the child.
      expect(s.gpus).toHaveLength(1);
    }
    // Only the cycle that ran it counts a fresh failure.
    expect(second.health.inventory.ageMs).toBeGreaterThanOrEqual(0);
  } finally {
    await patient.close();
  }

  const eager = createCollector({ env: host.env, workerLaunch: launch, inventoryRetryMs: 0 });
  try {
    await cycle(eager);
    await cycle(eager);
    expect(await startCount()).toBe(3);
  } finally {
    await eager.close();
  }
});

test('a host without lspci starts no inventory child at all', async () => {
  const host = await fakeHost({ fixture: 'l40s', lspci: false });
  const collector = createCollector({
    env: host.env,
    workerLaunch: { entry: path.join(host.dir, 'never-started.mjs'), execArgv: [] },
  });
  try {
    const sample = await cycle(collector);
    expect(sample.health.inventory).toMatchObject({
      status: 'no-lspci',
      message: expect.stringContaining('lspci not found on PATH'),
    });
    expect(sample.health.errors).toEqual([]);
  } finally {
    await collector.close();
  }
});
