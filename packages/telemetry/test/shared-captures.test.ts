/**
 * The parser against raw nvidia-smi output nobody on this project wrote. Reads the shared captures
 * at test time when they exist on this machine and skips otherwise; the project's own fixtures
 * (test/fixtures) do not depend on them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { gpuSampleFromRow, selectQueryFields } from '../src/gpu-fields.ts';
import { parseHelpQueryGpu } from '../src/help-query-gpu.ts';
import { parseQueryGpuCsv } from '../src/query-gpu-csv.ts';
import { ZGpuSample } from '../src/schema.ts';
import { captureSections } from './fixtures/capture-sections.ts';

const SHARED = '/work/shared/fixtures';
const CAPTURES = path.join(SHARED, 'nvidia-smi-captures');
const RECORDING = path.join(SHARED, 'h200-recording');

const captureFiles = existsSync(CAPTURES) ? readdirSync(CAPTURES).filter((f) => f.endsWith('.txt')) : [];

/** Product names as the capture file names spell the model. */
const EXPECTED_NAMES: Record<string, string> = {
  'nvidia-geforce-rtx-2080-super': 'NVIDIA GeForce RTX 2080 SUPER',
  'nvidia-geforce-rtx-4080-super': 'NVIDIA GeForce RTX 4080 SUPER',
  'nvidia-h100-80gb-hbm3': 'NVIDIA H100 80GB HBM3',
  'nvidia-h100-mig': 'NVIDIA H100 80GB HBM3',
  'nvidia-h200': 'NVIDIA H200',
  'nvidia-l40s': 'NVIDIA L40S',
};

describe.skipIf(captureFiles.length === 0)('shared nvidia-smi captures', () => {
  test.each(captureFiles)('%s', (file) => {
    const [, model = '', driver = ''] = /^linux-x86_64__(.+)__(.+)\.txt$/.exec(file) ?? [];
    const sections = captureSections(readFileSync(path.join(CAPTURES, file), 'utf8'));

    const help = sections.find((s) => s.title === 'capabilities :: help-query-gpu');
    const supported = parseHelpQueryGpu(help?.body ?? '').supported;
    expect(supported.size).toBeGreaterThan(150);
    expect(selectQueryFields(supported).unsupported).toEqual([]);

    const queries = sections.filter((s) => /^(idle|load) :: query-gpu/.test(s.title));
    expect(queries).toHaveLength(2);
    for (const query of queries) {
      // Every field the exporter asked for (~200, in --format=csv with header and units).
      const fields = /--query-gpu=(\S+)/.exec(query.command)?.[1]?.split(',') ?? [];
      expect(fields.length).toBeGreaterThan(150);
      const { rows, problems } = parseQueryGpuCsv(query.body, fields, { header: true });
      expect(problems).toEqual([]);
      expect(rows).toHaveLength(1);

      const conversionProblems: string[] = [];
      const gpu = gpuSampleFromRow(rows[0] ?? {}, conversionProblems, file);
      expect(conversionProblems).toEqual([]);
      expect(ZGpuSample.parse(gpu)).toEqual(gpu);
      expect(gpu).toMatchObject({
        index: 0,
        name: EXPECTED_NAMES[model],
        driverVersion: driver,
        pstate: expect.stringMatching(/^P\d+$/),
      });
      expect(gpu.memoryTotalMiB).toBeGreaterThan(0);
      expect(gpu.memoryUsedMiB).toEqual(expect.any(Number));
      expect(gpu.powerDrawW).toBeGreaterThan(0);
      expect(gpu.throttleReasons?.raw).toMatch(/^0x[0-9A-F]{16}$/);
      expect(gpu.migEnabled).toBe(model === 'nvidia-h100-mig' ? true : model.startsWith('nvidia-h') ? false : null);
      if (model === 'nvidia-h100-mig') expect(gpu.utilizationGpu).toBeNull();
      else expect(gpu.utilizationGpu).toEqual(expect.any(Number));
    }
  });
});

describe.skipIf(!existsSync(RECORDING))('H200 recording', () => {
  const read = (name: string) => readFileSync(path.join(RECORDING, name), 'utf8');
  const siFields = [
    'driver_version',
    'pci.sub_device_id',
    'name',
    'pci.bus_id',
    'fan.speed',
    'memory.total',
    'memory.used',
    'memory.free',
    'utilization.gpu',
    'utilization.memory',
    'temperature.gpu',
    'temperature.memory',
    'power.draw',
    'power.limit',
    'clocks.gr',
    'clocks.mem',
  ];

  test('the si query, idle: the 0 % and 0 MiB systeminformation loses are kept', () => {
    // The recording appends the exit status as a last line.
    const text = read('si-query-idle.csv').replace(/^exit=0\s*$/m, '');
    const { rows, problems } = parseQueryGpuCsv(text, siFields);
    expect(problems).toEqual([]);
    const gpu = gpuSampleFromRow(rows[0] ?? {}, [], 'idle');
    expect(gpu).toMatchObject({
      utilizationGpu: 0,
      utilizationMemory: 0,
      memoryUsedMiB: 0,
      fanPercent: null,
      temperatureMemory: 38,
      powerDrawW: 79.74,
    });
  });

  test('the si query under load: 12 lines, all at 100 %', () => {
    const { rows, problems } = parseQueryGpuCsv(read('si-query-load.csv'), siFields);
    expect(problems).toEqual([]);
    expect(rows.map((row) => gpuSampleFromRow(row, [], 'load').utilizationGpu)).toEqual(Array(12).fill(100));
  });

  test.each(['si-query-idle-header.csv', 'si-query-load-header.csv'])('%s parses in header mode', (name) => {
    const { rows, problems } = parseQueryGpuCsv(read(name), siFields, { header: true });
    expect(problems).toEqual([]);
    expect(gpuSampleFromRow(rows[0] ?? {}, [], name)).toMatchObject({
      memoryTotalMiB: 143771,
      powerLimitW: 700,
      fanPercent: null,
    });
  });

  test('this driver supports every field the collector wants', () => {
    expect(selectQueryFields(parseHelpQueryGpu(read('help-query-gpu.txt')).supported).unsupported).toEqual([]);
  });
});
