import { describe, expect, test } from 'vitest';
import { gpuSampleFromRow, selectQueryFields } from '../src/gpu-fields.ts';
import { parseHelpQueryGpu } from '../src/help-query-gpu.ts';
import { decodeThrottleReasons } from '../src/throttle-reasons.ts';
import { ZGpuSample } from '../src/schema.ts';
import { loadFixture } from './fakes/fake-host.ts';

describe('decodeThrottleReasons', () => {
  test('names every known bit and keeps the raw text', () => {
    expect(decodeThrottleReasons('0x0000000000000001')).toEqual({ raw: '0x0000000000000001', names: ['gpu_idle'] });
    expect(decodeThrottleReasons('0x0000000000000000')).toEqual({ raw: '0x0000000000000000', names: [] });
    expect(decodeThrottleReasons('0x00000000000001FF')?.names).toEqual([
      'gpu_idle',
      'applications_clocks_setting',
      'sw_power_cap',
      'hw_slowdown',
      'sync_boost',
      'sw_thermal_slowdown',
      'hw_thermal_slowdown',
      'hw_power_brake_slowdown',
      'display_clock_setting',
    ]);
  });

  test('bits above 0x100 stay only in raw; high 64-bit bits do not break decoding', () => {
    expect(decodeThrottleReasons('0x8000000000000044')).toEqual({
      raw: '0x8000000000000044',
      names: ['sw_power_cap', 'hw_thermal_slowdown'],
    });
  });

  test('anything that is not a hex mask is not a reason set', () => {
    for (const raw of ['', '1', '0x', '0xZZ', '0x00000000000000001', 'Active'])
      expect(decodeThrottleReasons(raw)).toBeNull();
  });
});

describe('parseHelpQueryGpu + selectQueryFields', () => {
  test('reads entry lines with aliases and ignores prose', () => {
    const help = parseHelpQueryGpu(
      [
        'List of valid properties to query for the switch "--query-gpu":',
        '',
        '"name" or "gpu_name"',
        'The official product name of the GPU. This is an alphanumeric string. For all products.',
        '',
        'Section about clocks_event_reasons properties',
        'Retrieves information about factors that are reducing the frequency of clocks. "quoted" words in prose are not fields.',
        '',
        '"clocks_event_reasons.active" or "clocks_throttle_reasons.active"',
      ].join('\r\n'),
    );
    expect(help.groups).toEqual([
      ['name', 'gpu_name'],
      ['clocks_event_reasons.active', 'clocks_throttle_reasons.active'],
    ]);
  });

  test('a current driver supports every wanted field under its preferred name', async () => {
    const fixture = await loadFixture('h100-80gb-hbm3');
    const { fields, unsupported } = selectQueryFields(new Set(fixture.helpQueryGpu.flat()));
    expect(unsupported).toEqual([]);
    expect(fields).toContain('clocks_event_reasons.active');
    expect(fields).toContain('clocks.gr');
    expect(fields).not.toContain('clocks_throttle_reasons.active');
  });

  test('an old driver gets the throttle spelling, and fields it lacks are left out', () => {
    const { fields, unsupported } = selectQueryFields(
      new Set(['name', 'index', 'clocks_throttle_reasons.active', 'power.draw']),
    );
    expect(fields).toEqual(['name', 'power.draw', 'index', 'clocks_throttle_reasons.active']);
    expect(unsupported).toContain('ecc.errors.corrected.volatile.total');
    expect(unsupported).not.toContain('clocks_event_reasons.active');
  });
});

describe('gpuSampleFromRow', () => {
  test('converts, keeps 0, accepts canonical and alias spellings', () => {
    const problems: string[] = [];
    const gpu = gpuSampleFromRow(
      {
        index: '0',
        name: 'NVIDIA H200',
        'utilization.gpu': '0',
        'memory.used': '0',
        'clocks.current.graphics': '345',
        'power.draw': '79.74',
        pstate: 'P0',
        'clocks_throttle_reasons.active': '0x0000000000000004',
        'ecc.errors.corrected.volatile.total': '0',
        'mig.mode.current': 'Enabled',
        'fan.speed': null,
      },
      problems,
      'GPU 0',
    );
    expect(problems).toEqual([]);
    expect(gpu).toMatchObject({
      index: 0,
      utilizationGpu: 0,
      memoryUsedMiB: 0,
      clockGraphicsMHz: 345,
      powerDrawW: 79.74,
      pstate: 'P0',
      throttleReasons: { raw: '0x0000000000000004', names: ['sw_power_cap'] },
      eccCorrected: 0,
      migEnabled: true,
      fanPercent: null,
      // Not asked for at all: unknown, not zero.
      eccUncorrected: null,
      temperatureGpu: null,
    });
    expect(ZGpuSample.parse(gpu)).toEqual(gpu);
  });

  test('garbage and out-of-range values become null with a problem each, never NaN', () => {
    const problems: string[] = [];
    const gpu = gpuSampleFromRow(
      {
        index: '1.5',
        'utilization.gpu': '150',
        'memory.used': '12abc',
        'power.draw': 'NaN',
        'temperature.gpu': '-',
        pstate: 'P99',
        'clocks_event_reasons.active': 'Active',
        'mig.mode.current': 'Maybe',
        'ecc.errors.uncorrected.volatile.total': '-1',
      },
      problems,
      'GPU 1',
    );
    expect(gpu).toMatchObject({
      index: null,
      utilizationGpu: null,
      memoryUsedMiB: null,
      powerDrawW: null,
      temperatureGpu: null,
      pstate: null,
      throttleReasons: null,
      migEnabled: null,
      eccUncorrected: null,
    });
    expect(problems).toHaveLength(9);
    expect(problems.every((p) => p.startsWith('GPU 1: '))).toBe(true);
    expect(ZGpuSample.safeParse(gpu).success).toBe(true);
  });
});
