/**
 * A hung nvidia-smi (a known failure on sick GPUs) must not hang the collection: everything that
 * runs it is killed at the bound, the rest of the sample still comes back, and the hung processes
 * are really gone. No timing assertion beyond a generous ceiling.
 */
import { afterEach, expect, test } from 'vitest';
import { collectSample, createCollector, ZCollectedSample } from '../src/index.ts';
import { childProcesses, createFakeHost, processIsGone, waitUntilGone, type TFakeHost } from './fakes/fake-host.ts';

/** Long enough for the inventory child to start on a slow, busy CI machine. */
const BOUND_MS = 6_000;
/** Far above the bound; only catches "did not return at all". */
const CEILING_MS = BOUND_MS + 15_000;
const hosts: TFakeHost[] = [];

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.cleanup()));
});

async function hungHost(options: { lspci: boolean }): Promise<TFakeHost> {
  const host = await createFakeHost({ fixture: 'h200-recording', lspci: options.lspci });
  hosts.push(host);
  await host.control({ hang: 'all' });
  return host;
}

test('hung nvidia-smi with lspci present: both our query and the inventory child are killed, host metrics survive', async () => {
  const host = await hungHost({ lspci: true });
  const started = Date.now();
  const sample = await collectSample({ timeoutMs: BOUND_MS, env: host.env });
  expect(Date.now() - started).toBeLessThan(CEILING_MS);
  expect(ZCollectedSample.parse(sample)).toEqual(sample);

  // Ours hung in --help-query-gpu (first cycle); systeminformation's in graphics().
  expect(sample.health.timeouts.map((t) => t.part).sort()).toEqual(['nvidia-smi-help', 'si-graphics']);
  // Measured from when each part started, a little after the cycle did.
  for (const timeout of sample.health.timeouts) expect(timeout.afterMs).toBeGreaterThan(BOUND_MS - 1_000);
  expect(sample.health.nvidiaSmi).toMatchObject({ status: 'timeout', exitCode: null });
  expect(sample.health.inventory.status).toBe('timeout');
  expect(sample.health.errors).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^nvidia-smi --help-query-gpu timed out after \d+ ms and was killed$/),
      expect.stringMatching(/^GPU inventory: systeminformation graphics\(\) timed out/),
    ]),
  );
  // Nothing to compare when nvidia-smi did not answer.
  expect(sample.health.inventoryMismatch).toBe(false);
  expect(sample.gpus).toEqual([]);
  // Host metrics come from the kernel in this process; graphics() hanging cannot touch them.
  expect(sample.health.hostMetrics.status).toBe('ok');
  expect(sample.host.memTotalBytes).toBeGreaterThan(0);
  expect(sample.host.cpuLoadPercent).toEqual(expect.any(Number));

  // Two fake nvidia-smi processes hung (ours and the inventory child's); both must be gone, and the child with them.
  const pids = await host.nvidiaSmiPids();
  expect(pids).toHaveLength(2);
  expect(await waitUntilGone(pids, 5_000)).toEqual([]);
  expect(await childProcesses(process.pid, 'si-worker')).toEqual([]);
});

test('hung nvidia-smi without lspci: only our query hangs; the inventory says no-lspci', async () => {
  const host = await hungHost({ lspci: false });
  const sample = await collectSample({ timeoutMs: BOUND_MS, env: host.env });
  expect(sample.health.timeouts.map((t) => t.part)).toEqual(['nvidia-smi-help']);
  expect(sample.health.inventory.status).toBe('no-lspci');
  expect(sample.health.hostMetrics.status).toBe('ok');
  const pids = await host.nvidiaSmiPids();
  expect(pids).toHaveLength(1);
  expect(await waitUntilGone(pids, 5_000)).toEqual([]);
});

test('a long-running collector: a hang mid-life times out the query and the inventory due that cycle, kills its child, and the next cycle recovers', async () => {
  const host = await createFakeHost({ fixture: 'h200-recording', sample: 'load' });
  hosts.push(host);
  // An inventory every cycle, so the hang also reaches systeminformation's graphics().
  const collector = createCollector({ env: host.env, inventoryRefreshMs: 0, inventoryRetryMs: 0 });
  try {
    const healthy = await collector.collect({ timeoutMs: 20_000 });
    expect(healthy.health.errors).toEqual([]);
    expect(collector.workerPid).toBeUndefined();

    // Help is cached now, so the hang hits the query itself.
    await host.control({ hang: 'query' });
    const inFlight = collector.collect({ timeoutMs: BOUND_MS });
    let hungChild: number | undefined;
    while (hungChild === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      hungChild = collector.workerPid;
    }
    const hung = await inFlight;
    expect(hung.health.timeouts.map((t) => t.part).sort()).toEqual(['nvidia-smi-query', 'si-graphics']);
    expect(hung.health.nvidiaSmi.status).toBe('timeout');
    expect(hung.health.inventory).toMatchObject({
      status: 'timeout',
      ageMs: 0,
      message: expect.stringMatching(/inventory child and its children killed$/),
    });
    // The fields it tried are still reported, to tell a stale-help problem from a hang.
    expect(hung.health.nvidiaSmi.queriedFields).toContain('clocks_event_reasons.active');
    // The hung child is gone when the sample is returned, and none is started ahead of the next cycle.
    expect(await processIsGone(hungChild)).toBe(true);
    expect(collector.workerPid).toBeUndefined();
    expect(await childProcesses(process.pid, 'si-worker')).toEqual([]);
    const hungPids = await host.nvidiaSmiPids();
    expect(await waitUntilGone(hungPids, 5_000)).toEqual([]);

    await host.control({ hang: null });
    const recovered = await collector.collect({ timeoutMs: 20_000 });
    expect(recovered.health.errors).toEqual([]);
    expect(recovered.gpus[0]?.utilizationGpu).toBe(100);
    expect(recovered.health.inventory).toMatchObject({ status: 'ok', nvidiaControllers: 1 });
  } finally {
    await collector.close();
  }
});

test('a bound too short for the inventory child to start: host metrics (from the kernel) still come, the child is killed', async () => {
  const host = await createFakeHost({ fixture: 'l40s', lspci: true });
  hosts.push(host);
  const sample = await collectSample({ timeoutMs: 1, env: host.env });
  expect(ZCollectedSample.parse(sample)).toEqual(sample);
  expect(sample.health.hostMetrics.status).toBe('ok');
  expect(sample.host.memTotalBytes).toBeGreaterThan(0);
  expect(sample.health.inventory.status).toBe('timeout');
  expect(sample.health.timeouts.map((t) => t.part)).toContain('si-graphics');
  expect(sample.host.gpuInventory).toBeNull();
  expect(sample.host.hostname.length).toBeGreaterThan(0);
  expect(await childProcesses(process.pid, 'si-worker')).toEqual([]);
});
