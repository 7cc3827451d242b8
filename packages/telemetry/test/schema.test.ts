import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  MAX_GPUS_PER_HOST,
  ZCollectedSample,
  ZTelemetrySample,
  type TGpuSample,
  type TTelemetrySample,
} from '../src/schema.ts';

const gpu: TGpuSample = {
  index: 0,
  uuid: 'GPU-00000000-0000-0000-0000-000000000000',
  name: 'NVIDIA H200',
  pciBusId: '00000000:00:06.0',
  driverVersion: '580.159.04',
  utilizationGpu: 0,
  utilizationMemory: 0,
  temperatureGpu: 35,
  temperatureMemory: 38,
  memoryUsedMiB: 0,
  memoryTotalMiB: 143771,
  powerDrawW: 79.74,
  powerLimitW: 700,
  clockGraphicsMHz: 345,
  clockMemoryMHz: 3201,
  fanPercent: null,
  pstate: 'P0',
  throttleReasons: { raw: '0x0000000000000001', names: ['gpu_idle'] },
  eccCorrected: 0,
  eccUncorrected: 0,
  migEnabled: false,
};

const sample: TTelemetrySample = {
  seq: 1,
  collectedAt: '2026-11-27T21:45:26.000Z',
  spoolDropped: 0,
  host: {
    hostname: 'gpu-01',
    cpuLoadPercent: 3.5,
    memUsedBytes: 1,
    memTotalBytes: 2,
    os: { platform: 'linux', distro: 'Ubuntu', release: '24.04.3 LTS', kernel: '6.18', arch: 'x64' },
    gpuInventory: null,
  },
  gpus: [gpu],
  health: {
    durationMs: 40,
    errors: [],
    gpuCount: 1,
    nvidiaSmi: { status: 'ok', exitCode: 0, message: null, queriedFields: ['index'], unsupportedFields: [] },
    hostMetrics: { status: 'ok', message: null },
    inventory: { status: 'no-lspci', nvidiaControllers: null, message: 'lspci not found on PATH' },
    timeouts: [],
    inventoryMismatch: true,
    inventoryMismatchReason:
      'systeminformation lists no NVIDIA controller because lspci is not on PATH, while nvidia-smi reports 1 GPU',
  },
};

function issues(value: unknown): string[] {
  const result = ZTelemetrySample.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('ZTelemetrySample', () => {
  test('accepts a real sample', () => {
    expect(ZTelemetrySample.parse(sample)).toEqual(sample);
  });

  test('rejects garbage with messages that name the field', () => {
    expect(issues({ ...sample, gpus: Array(MAX_GPUS_PER_HOST + 1).fill(gpu) })).toEqual([
      'gpus: at most 64 GPUs per host',
    ]);
    expect(issues({ ...sample, gpus: [{ ...gpu, utilizationGpu: 150 }] })[0]).toMatch(/^gpus\.0\.utilizationGpu: /);
    expect(issues({ ...sample, gpus: [{ ...gpu, powerDrawW: Number.NaN }] })[0]).toMatch(/^gpus\.0\.powerDrawW: /);
    expect(issues({ ...sample, gpus: [{ ...gpu, memoryUsedMiB: Number.POSITIVE_INFINITY }] })[0]).toMatch(
      /^gpus\.0\.memoryUsedMiB: /,
    );
    expect(issues({ ...sample, gpus: [{ ...gpu, pstate: 'P42' }] })).toEqual(['gpus.0.pstate: pstate must be P0..P15']);
    expect(issues({ ...sample, gpus: [{ ...gpu, throttleReasons: { raw: 'idle', names: [] } }] })).toEqual([
      'gpus.0.throttleReasons.raw: raw must be a hex bitmask like 0x0000000000000004',
    ]);
    expect(issues({ ...sample, seq: 0 })[0]).toMatch(/^seq: /);
    expect(issues({ ...sample, collectedAt: 'yesterday' })[0]).toMatch(/^collectedAt: /);
    expect(issues({ ...sample, extra: true })[0]).toMatch(/Unrecognized key/);
    expect(issues({ ...sample, health: { ...sample.health, inventoryMismatchReason: null } })).toEqual([
      'health.inventoryMismatchReason: inventoryMismatchReason must be set exactly when inventoryMismatch is true',
    ]);
  });

  test('two readings for one GPU slot in one sample are refused, naming the index', () => {
    expect(issues({ ...sample, gpus: [gpu, { ...gpu, index: 1 }, { ...gpu }] })).toEqual([
      'gpus: duplicate GPU index 0',
    ]);
    // A reading without an index takes its position, as the console stores it.
    expect(
      issues({
        ...sample,
        gpus: [
          { ...gpu, index: 1 },
          { ...gpu, index: null },
        ],
      }),
    ).toEqual(['gpus: duplicate GPU index 1']);
    expect(issues({ ...sample, seq: Number.MAX_SAFE_INTEGER, gpus: [gpu, { ...gpu, index: 1 }] })).toEqual([]);
  });

  test('unknown is null, never a missing key', () => {
    const { fanPercent: _omitted, ...withoutFan } = gpu;
    expect(issues({ ...sample, gpus: [withoutFan] })[0]).toMatch(/^gpus\.0\.fanPercent: /);
  });

  test('ZCollectedSample is the same sample without seq and spoolDropped', () => {
    const { seq: _seq, spoolDropped: _dropped, ...collected } = sample;
    expect(ZCollectedSample.parse(collected)).toEqual(collected);
  });

  test('the schema module imports zod and nothing else, so server and browser can use it', () => {
    const source = readFileSync(
      path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'schema.ts'),
      'utf8',
    );
    expect([...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1])).toEqual(['zod']);
  });
});
