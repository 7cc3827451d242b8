/**
 * The real collector (inventory child under tsx, systeminformation, our nvidia-smi query) against fake
 * nvidia-smi and lspci executables fed from test/fixtures.
 */
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { collectSample, createCollector, ZCollectedSample, type TCollectedSample } from '../src/index.ts';
import { createFakeHost, loadFixture, type TFakeHost } from './fakes/fake-host.ts';
import type { TGpuFixture } from './fixtures/fixture-types.ts';

const TIMEOUT_MS = 30_000;

/**
 * Tests run concurrently (each one mostly waits on child processes), so every test gets its own
 * fake hosts through a fixture that cleans them up when that test ends.
 */
const it = test.extend<{ fakeHost: (options: Parameters<typeof createFakeHost>[0]) => Promise<TFakeHost> }>({
  // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from this pattern; this one has none.
  fakeHost: async ({}, use) => {
    const created: TFakeHost[] = [];
    await use(async (options) => {
      const host = await createFakeHost(options);
      created.push(host);
      return host;
    });
    await Promise.all(created.map((h) => h.cleanup()));
  },
});

async function collect(host: TFakeHost): Promise<TCollectedSample> {
  const sample = await collectSample({ timeoutMs: TIMEOUT_MS, env: host.env });
  // Every sample the collector produces must be one the server accepts.
  expect(ZCollectedSample.parse(sample)).toEqual(sample);
  return sample;
}

/** A copy of a fixture with `edit` applied to every GPU of every sample. */
async function derivedFixture(
  id: string,
  edit: (gpu: Record<string, string>) => void,
  help?: (groups: string[][]) => string[][],
): Promise<TGpuFixture> {
  const fixture = structuredClone(await loadFixture(id));
  for (const gpus of Object.values(fixture.samples)) gpus.forEach(edit);
  if (help) fixture.helpQueryGpu = help(fixture.helpQueryGpu);
  return { ...fixture, id: `${id}-derived` };
}

const ourQueries = (calls: Awaited<ReturnType<TFakeHost['calls']>>) =>
  calls.filter(
    (c) => c.tool === 'nvidia-smi' && c.args[0]?.startsWith('--query-gpu=') && c.args[0].includes(',index,'),
  );
const siQueries = (calls: Awaited<ReturnType<TFakeHost['calls']>>) =>
  calls.filter(
    (c) => c.tool === 'nvidia-smi' && c.args[0]?.startsWith('--query-gpu=') && !c.args[0].includes(',index,'),
  );

describe('H100-class (h100-80gb-hbm3 capture)', () => {
  it.concurrent('idle: every metric from nvidia-smi, inventory from lspci, both agree', async ({ fakeHost }) => {
    const host = await fakeHost({ fixture: 'h100-80gb-hbm3' });
    const sample = await collect(host);
    expect(sample.gpus).toEqual([
      {
        index: 0,
        uuid: 'GPU-00000000-0000-0000-0000-000000000000',
        name: 'NVIDIA H100 80GB HBM3',
        pciBusId: '00000000:00:09.0',
        driverVersion: '590.48.01',
        utilizationGpu: 0,
        utilizationMemory: 0,
        temperatureGpu: 41,
        temperatureMemory: 48,
        memoryUsedMiB: 0,
        memoryTotalMiB: 81559,
        powerDrawW: 69.85,
        powerLimitW: 700,
        clockGraphicsMHz: 345,
        clockMemoryMHz: 2619,
        fanPercent: null,
        pstate: 'P0',
        throttleReasons: { raw: '0x0000000000000001', names: ['gpu_idle'] },
        eccCorrected: 0,
        eccUncorrected: 0,
        migEnabled: false,
      },
    ]);
    expect(sample.health).toMatchObject({
      errors: [],
      gpuCount: 1,
      nvidiaSmi: { status: 'ok', exitCode: 0, unsupportedFields: [] },
      hostMetrics: { status: 'ok' },
      inventory: { status: 'ok', nvidiaControllers: 1 },
      timeouts: [],
      inventoryMismatch: false,
      inventoryMismatchReason: null,
    });
    // The QEMU VGA next to the GPU is listed but not counted as an NVIDIA controller.
    expect(sample.host.gpuInventory).toEqual([
      { busAddress: '00:02.0', vendor: null, model: null, vramMiB: 16 },
      { busAddress: '00:09.0', vendor: 'NVIDIA Corporation', model: 'GH100 [H100 SXM5 80GB]', vramMiB: 81559 },
    ]);
    expect(sample.host.cpuLoadPercent).toEqual(expect.any(Number));
    expect(sample.host.memTotalBytes).toBeGreaterThan(0);
    expect(sample.host.os?.platform).toBe('linux');
    expect(sample.host.hostname.length).toBeGreaterThan(0);
  });

  it.concurrent('load: busy GPU, no throttle reason active', async ({ fakeHost }) => {
    const host = await fakeHost({ fixture: 'h100-80gb-hbm3', sample: 'load' });
    const [gpu] = (await collect(host)).gpus;
    expect(gpu).toMatchObject({
      utilizationGpu: 100,
      utilizationMemory: 11,
      memoryUsedMiB: 19818,
      powerDrawW: 631.95,
      clockGraphicsMHz: 1980,
      throttleReasons: { names: [] },
    });
  });
});

it.concurrent('MIG: utilization is unknown for a MIG-enabled GPU, the rest is reported', async ({ fakeHost }) => {
  const host = await fakeHost({ fixture: 'h100-mig', sample: 'load' });
  const sample = await collect(host);
  expect(sample.gpus[0]).toMatchObject({
    migEnabled: true,
    utilizationGpu: null,
    utilizationMemory: null,
    memoryUsedMiB: 11125,
    powerDrawW: 433.78,
    temperatureGpu: 53,
  });
  // [N/A] is normal under MIG, not an error.
  expect(sample.health.errors).toEqual([]);
  expect(sample.health.inventoryMismatch).toBe(false);
});

describe('consumer GeForce cards', () => {
  it.concurrent(
    'RTX 2080 SUPER: fan present, no ECC, no memory temperature; the HDMI audio function is not a GPU',
    async ({ fakeHost }) => {
      const host = await fakeHost({ fixture: 'geforce-rtx-2080-super' });
      const sample = await collect(host);
      expect(sample.gpus[0]).toMatchObject({
        name: 'NVIDIA GeForce RTX 2080 SUPER',
        fanPercent: 38,
        eccCorrected: null,
        eccUncorrected: null,
        temperatureMemory: null,
        pstate: 'P8',
        throttleReasons: { raw: '0x0000000000000004', names: ['sw_power_cap'] },
        migEnabled: null,
      });
      expect(sample.host.gpuInventory).toEqual([
        { busAddress: '0c:00.0', vendor: 'NVIDIA Corporation', model: 'TU104 [GeForce RTX 2080 SUPER]', vramMiB: 8192 },
      ]);
      expect(sample.health.inventory.nvidiaControllers).toBe(1);
      expect(sample.health.inventoryMismatch).toBe(false);
    },
  );

  it.concurrent('RTX 4080 SUPER idle: a stopped fan and an idle GPU are 0, not unknown', async ({ fakeHost }) => {
    const host = await fakeHost({ fixture: 'geforce-rtx-4080-super' });
    const [gpu] = (await collect(host)).gpus;
    expect(gpu).toMatchObject({ fanPercent: 0, utilizationGpu: 0, memoryUsedMiB: 596, clockGraphicsMHz: 210 });
  });
});

it.concurrent('L40S: no memory temperature and no fan are null; 0 MiB used stays 0', async ({ fakeHost }) => {
  const host = await fakeHost({ fixture: 'l40s' });
  const [gpu] = (await collect(host)).gpus;
  expect(gpu).toMatchObject({
    name: 'NVIDIA L40S',
    temperatureMemory: null,
    fanPercent: null,
    memoryUsedMiB: 0,
    utilizationGpu: 100,
    powerLimitW: 350,
  });
});

describe('H200 recording', () => {
  it.concurrent.for([
    [
      'idle',
      {
        utilizationGpu: 0,
        utilizationMemory: 0,
        memoryUsedMiB: 0,
        powerDrawW: 79.74,
        temperatureGpu: 35,
        clockGraphicsMHz: 345,
        throttleReasons: { raw: '0x0000000000000001', names: ['gpu_idle'] },
      },
    ],
    [
      'load',
      {
        utilizationGpu: 100,
        utilizationMemory: 23,
        memoryUsedMiB: 1011,
        powerDrawW: 692.57,
        temperatureGpu: 56,
        clockGraphicsMHz: 1455,
        throttleReasons: { raw: '0x0000000000000004', names: ['sw_power_cap'] },
      },
    ],
  ] as const)(
    '%s with lspci: values kept (0 included) and inventory agrees',
    async ([sampleName, expected], { fakeHost }) => {
      const host = await fakeHost({ fixture: 'h200-recording', sample: sampleName });
      const sample = await collect(host);
      expect(sample.gpus).toHaveLength(1);
      expect(sample.gpus[0]).toMatchObject({
        ...expected,
        name: 'NVIDIA H200',
        pciBusId: '00000000:00:06.0',
        fanPercent: null,
        memoryTotalMiB: 143771,
        powerLimitW: 700,
      });
      expect(sample.host.gpuInventory?.find((c) => c.vendor === 'NVIDIA Corporation')).toMatchObject({
        busAddress: '00:06.0',
        model: 'GH100 [H200 SXM 141GB]',
      });
      expect(sample.health.inventoryMismatch).toBe(false);
      // systeminformation ran its own nvidia-smi query for the merge; ours ran once.
      const calls = await host.calls();
      expect(ourQueries(calls)).toHaveLength(1);
      expect(siQueries(calls)).toHaveLength(1);
    },
  );

  it.concurrent.for(['idle', 'load'])(
    '%s without lspci (as on the real host): no inventory, mismatch flagged, GPUs still reported',
    async (sampleName, { fakeHost }) => {
      const host = await fakeHost({ fixture: 'h200-recording', sample: sampleName, lspci: false });
      const sample = await collect(host);
      expect(sample.gpus).toHaveLength(1);
      expect(sample.gpus[0]?.utilizationGpu).toBe(sampleName === 'idle' ? 0 : 100);
      expect(sample.host.gpuInventory).toBeNull();
      expect(sample.host.cpuLoadPercent).toEqual(expect.any(Number));
      expect(sample.health).toMatchObject({
        gpuCount: 1,
        nvidiaSmi: { status: 'ok' },
        inventory: {
          status: 'no-lspci',
          nvidiaControllers: null,
          message: expect.stringContaining('lspci not found on PATH'),
        },
        inventoryMismatch: true,
        inventoryMismatchReason:
          'systeminformation lists no NVIDIA controller because lspci is not on PATH, while nvidia-smi reports 1 GPU',
      });
      // No lspci is a property of the host, not a fault of this cycle.
      expect(sample.health.errors).toEqual([]);
      // Without lspci, systeminformation never runs nvidia-smi.
      expect(siQueries(await host.calls())).toHaveLength(0);
    },
  );
});

it.concurrent('every "unknown" token becomes null, and the alarming ones are reported', async ({ fakeHost }) => {
  const tokens: Record<string, string> = {
    'utilization.gpu': 'N/A',
    'utilization.memory': '[N/A]',
    'temperature.gpu': '[Not Supported]',
    'temperature.memory': '[GPU requires reset]',
    'power.draw': '[Unknown Error]',
    'clocks.current.graphics': '',
    'memory.used': 'garbage',
    'ecc.errors.corrected.volatile.total': '[N/A]',
    'clocks_event_reasons.active': '[N/A]',
    pstate: '[Unknown Error]',
  };
  const fixture = await derivedFixture('h100-80gb-hbm3', (gpu) => Object.assign(gpu, tokens));
  const host = await fakeHost({ fixture });
  const sample = await collect(host);
  expect(sample.gpus[0]).toMatchObject({
    utilizationGpu: null,
    utilizationMemory: null,
    temperatureGpu: null,
    temperatureMemory: null,
    powerDrawW: null,
    clockGraphicsMHz: null,
    memoryUsedMiB: null,
    eccCorrected: null,
    throttleReasons: null,
    pstate: null,
    // Untouched neighbours keep their values, 0 included.
    eccUncorrected: 0,
    memoryTotalMiB: 81559,
    clockMemoryMHz: 2619,
  });
  expect(sample.health.errors).toEqual([
    'nvidia-smi output line 1: temperature.memory is [GPU requires reset]',
    'nvidia-smi output line 1: power.draw is [Unknown Error]',
    'nvidia-smi output line 1: pstate is [Unknown Error]',
    'GPU 0: memory.used "garbage" is not a number',
  ]);
  expect(sample.health.nvidiaSmi.status).toBe('ok');
});

it.concurrent('a GPU name containing ", " parses, and the fields after it stay aligned', async ({ fakeHost }) => {
  const fixture = await derivedFixture('geforce-rtx-4080-super', (gpu) => {
    gpu['name'] = 'NVIDIA GeForce RTX 4080, SUPER';
  });
  const host = await fakeHost({ fixture });
  const sample = await collect(host);
  expect(sample.gpus[0]).toMatchObject({
    name: 'NVIDIA GeForce RTX 4080, SUPER',
    pciBusId: '00000000:01:00.0',
    fanPercent: 0,
    memoryTotalMiB: 16376,
    uuid: 'GPU-00000000-0000-0000-0000-000000000000',
  });
  expect(sample.health.errors).toEqual([]);
});

it.concurrent(
  'an old driver that only knows clocks_throttle_reasons and lacks ECC/MIG fields',
  async ({ fakeHost }) => {
    const fixture = await derivedFixture(
      'geforce-rtx-2080-super',
      () => {},
      (groups) =>
        groups
          .map((names) => names.filter((n) => !n.startsWith('clocks_event_reasons')))
          .filter(
            (names) => names.length > 0 && !names.some((n) => n.startsWith('ecc.errors') || n.startsWith('mig.mode')),
          ),
    );
    // The fixture keeps its values under the new names; make the old name resolve to them.
    for (const gpus of Object.values(fixture.samples))
      for (const gpu of gpus) gpu['clocks_throttle_reasons.active'] = gpu['clocks_event_reasons.active'] ?? '';
    const host = await fakeHost({ fixture });
    const sample = await collect(host);
    expect(sample.health.nvidiaSmi.queriedFields).toContain('clocks_throttle_reasons.active');
    expect(sample.health.nvidiaSmi.unsupportedFields).toEqual([
      'ecc.errors.corrected.volatile.total',
      'ecc.errors.uncorrected.volatile.total',
      'mig.mode.current',
    ]);
    expect(sample.gpus[0]).toMatchObject({
      throttleReasons: { names: ['sw_power_cap'] },
      eccCorrected: null,
      migEnabled: null,
      fanPercent: 38,
    });
    expect(sample.health.nvidiaSmi.status).toBe('ok');
  },
);

describe('nvidia-smi failures', () => {
  it.concurrent(
    '"GPU is lost" (exit 15): reported with code and message; lspci still sees the GPU, so mismatch',
    async ({ fakeHost }) => {
      const host = await fakeHost({ fixture: 'h100-80gb-hbm3' });
      const message =
        'Unable to determine the device handle for GPU0000:00:09.0: GPU is lost.  Reboot the system to recover this GPU';
      await host.control({ exit: { code: 15, message } });
      const sample = await collect(host);
      expect(sample.gpus).toEqual([]);
      expect(sample.health.nvidiaSmi).toMatchObject({ status: 'failed', exitCode: 15, message });
      expect(sample.health.errors[0]).toBe(`nvidia-smi exited with code 15: ${message}`);
      // The line is not CSV; it is reported as such rather than dropped silently.
      expect(sample.health.errors[1]).toMatch(/^nvidia-smi output line 1: 1 values for 23 fields/);
      expect(sample.health.inventoryMismatch).toBe(true);
      expect(sample.health.inventoryMismatchReason).toBe(
        'lspci lists 1 NVIDIA controller, nvidia-smi failed and reports 0 GPUs (on PCI but not in nvidia-smi: 00:09.0)',
      );
      // The host half is unaffected.
      expect(sample.health.hostMetrics.status).toBe('ok');
    },
  );

  it.concurrent('a failing exit with good lines before the error keeps those GPUs', async ({ fakeHost }) => {
    const host = await fakeHost({ fixture: 'h200-recording', sample: 'load' });
    await host.control({
      exit: {
        code: 15,
        message:
          'Unable to determine the device handle for GPU0000:41:00.0: GPU is lost.  Reboot the system to recover this GPU',
        rows: true,
      },
    });
    const sample = await collect(host);
    expect(sample.gpus).toHaveLength(1);
    expect(sample.gpus[0]?.utilizationGpu).toBe(100);
    expect(sample.health.nvidiaSmi.status).toBe('failed');
    expect(sample.health.gpuCount).toBe(1);
  });

  it.concurrent('"No devices were found" (exit 6) with the driver loaded but no GPU visible', async ({ fakeHost }) => {
    const host = await fakeHost({ fixture: 'l40s' });
    await host.control({ exit: { code: 6, message: 'No devices were found' } });
    const sample = await collect(host);
    expect(sample.health.nvidiaSmi).toMatchObject({ status: 'failed', exitCode: 6, message: 'No devices were found' });
    expect(sample.health.inventoryMismatch).toBe(true);
  });

  it.concurrent('driver not loaded: even --help-query-gpu fails, and nothing is cached', async ({ fakeHost }) => {
    const host = await fakeHost({ fixture: 'l40s', lspci: false });
    const message =
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.";
    await host.control({ exit: { code: 9, message, help: true } });
    const collector = createCollector({ env: host.env });
    try {
      const first = await collector.collect({ timeoutMs: TIMEOUT_MS });
      expect(first.health.nvidiaSmi).toMatchObject({ status: 'failed', exitCode: 9, message, queriedFields: [] });
      expect(first.health.inventoryMismatch).toBe(false);
      await host.control({ exit: null });
      const second = await collector.collect({ timeoutMs: TIMEOUT_MS });
      expect(second.health.nvidiaSmi.status).toBe('ok');
      expect(second.gpus).toHaveLength(1);
    } finally {
      await collector.close();
    }
  });

  it.concurrent(
    'nvidia-smi missing from PATH: status missing, no spawn; lspci shows an NVIDIA GPU, so mismatch',
    async ({ fakeHost }) => {
      const host = await fakeHost({ fixture: 'h100-80gb-hbm3', nvidiaSmi: false });
      const sample = await collect(host);
      expect(sample.gpus).toEqual([]);
      expect(sample.health.nvidiaSmi).toMatchObject({
        status: 'missing',
        exitCode: null,
        message: 'nvidia-smi not found on PATH',
      });
      expect(sample.health.errors).toEqual(['nvidia-smi missing: nvidia-smi not found on PATH']);
      expect(sample.health.inventoryMismatchReason).toBe(
        'lspci lists 1 NVIDIA controller, nvidia-smi is missing and reports 0 GPUs (on PCI but not in nvidia-smi: 00:09.0)',
      );
      // systeminformation kept the controller, without nvidia-smi's merge: vram is the BAR size.
      expect(sample.host.gpuInventory?.[1]).toMatchObject({ busAddress: '00:09.0', vramMiB: 131072 });
    },
  );

  it.concurrent('an explicit nvidiaSmiPath that does not exist is "missing"', async ({ fakeHost }) => {
    const host = await fakeHost({ fixture: 'h100-80gb-hbm3' });
    const sample = await collectSample({
      timeoutMs: TIMEOUT_MS,
      env: host.env,
      nvidiaSmiPath: `${host.dir}/nope/nvidia-smi`,
    });
    expect(sample.health.nvidiaSmi.status).toBe('missing');
  });
});

it.concurrent(
  'lspci lists two NVIDIA GPUs, nvidia-smi one: counts differ, the missing bus is named',
  async ({ fakeHost }) => {
    const fixture = await loadFixture('h200');
    const extra =
      fixture.lspci
        .replace(/^83:00\.0 /m, '84:00.0 ')
        .split('\n\n')
        .find((stanza) => stanza.startsWith('84:00.0')) ?? '';
    const host = await fakeHost({ fixture: 'h200' });
    await host.control({ lspci: `${fixture.lspci}\n${extra}\n` });
    const sample = await collect(host);
    expect(sample.health.inventory.nvidiaControllers).toBe(2);
    expect(sample.health.inventoryMismatch).toBe(true);
    expect(sample.health.inventoryMismatchReason).toBe(
      'lspci lists 2 NVIDIA controllers, nvidia-smi reports 1 GPU (on PCI but not in nvidia-smi: 84:00.0)',
    );
    // The server's ASPEED BMC graphics is in the inventory but is not NVIDIA.
    expect(sample.host.gpuInventory?.map((c) => c.vendor)).toEqual([
      'ASPEED Technology, Inc.',
      'NVIDIA Corporation',
      'NVIDIA Corporation',
    ]);
  },
);

it.concurrent('concurrent collect() calls are serialised, not interleaved', async ({ fakeHost }) => {
  const host = await fakeHost({ fixture: 'l40s', lspci: false });
  const collector = createCollector({ env: host.env });
  try {
    const samples = await Promise.all([1, 2, 3].map(() => collector.collect({ timeoutMs: TIMEOUT_MS })));
    expect(samples.every((s) => s.health.errors.length === 0 && s.gpus.length === 1)).toBe(true);
  } finally {
    await collector.close();
  }
});

describe('the learned field list follows the driver', () => {
  const withoutMig = (fixture: TGpuFixture): TGpuFixture => ({
    ...fixture,
    helpQueryGpu: fixture.helpQueryGpu.filter((names) => !names.includes('mig.mode.current')),
  });
  const helpCalls = async (host: TFakeHost) =>
    (await host.calls()).filter((c) => c.args[0] === '--help-query-gpu').length;

  it.concurrent('a new nvidia-smi binary (driver upgrade) is asked --help-query-gpu again', async ({ fakeHost }) => {
    const host = await fakeHost({ fixture: await loadFixture('l40s'), lspci: false });
    const collector = createCollector({ env: host.env });
    try {
      expect((await collector.collect({ timeoutMs: TIMEOUT_MS })).health.nvidiaSmi.queriedFields).toContain(
        'mig.mode.current',
      );
      await writeFile(path.join(host.dir, 'fixture.json'), JSON.stringify(withoutMig(await loadFixture('l40s'))));
      const later = new Date(Date.now() + 60_000);
      await utimes(path.join(host.dir, 'bin', 'nvidia-smi'), later, later);
      const sample = await collector.collect({ timeoutMs: TIMEOUT_MS });
      expect(await helpCalls(host)).toBe(2);
      expect(sample.health.nvidiaSmi).toMatchObject({ status: 'ok', unsupportedFields: ['mig.mode.current'] });
    } finally {
      await collector.close();
    }
  });

  it.concurrent(
    'a query rejected for an unknown field fails that cycle and makes the next one re-learn',
    async ({ fakeHost }) => {
      const host = await fakeHost({ fixture: await loadFixture('l40s'), lspci: false });
      const collector = createCollector({ env: host.env });
      try {
        await collector.collect({ timeoutMs: TIMEOUT_MS });
        // Same binary (same mtime), different answers: the cached list is now stale.
        await writeFile(path.join(host.dir, 'fixture.json'), JSON.stringify(withoutMig(await loadFixture('l40s'))));
        const failed = await collector.collect({ timeoutMs: TIMEOUT_MS });
        expect(failed.health.nvidiaSmi).toMatchObject({
          status: 'failed',
          exitCode: 2,
          message: 'Field "mig.mode.current" is not a valid field to query.',
        });
        const recovered = await collector.collect({ timeoutMs: TIMEOUT_MS });
        expect(recovered.health.nvidiaSmi.status).toBe('ok');
        expect(recovered.gpus).toHaveLength(1);
        expect(await helpCalls(host)).toBe(2);
      } finally {
        await collector.close();
      }
    },
  );
});
