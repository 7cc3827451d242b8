import { describe, expect, test } from 'vitest';
import { isUnknownToken, parseQueryGpuCsv } from '../src/query-gpu-csv.ts';

/** systeminformation 5.33's query, the one recorded in the H200 recording. */
const SI_FIELDS = [
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
// Line 1 of h200-recording/si-query-idle.csv.
const H200_IDLE =
  '580.159.04, 0x18BF10DE, NVIDIA H200, 00000000:00:06.0, [N/A], 143771, 0, 143156, 0, 0, 35, 38, 79.74, 700.00, 345, 3201';

describe('parseQueryGpuCsv', () => {
  test('keeps 0 as "0" and turns [N/A] into null', () => {
    const { rows, problems } = parseQueryGpuCsv(`${H200_IDLE}\n`, SI_FIELDS);
    expect(problems).toEqual([]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      'memory.used': '0',
      'utilization.gpu': '0',
      'utilization.memory': '0',
      'fan.speed': null,
      name: 'NVIDIA H200',
    });
  });

  test.each([
    ['N/A', false],
    ['[N/A]', false],
    ['[Not Supported]', false],
    ['', false],
    ['[GPU requires reset]', true],
    ['[Unknown Error]', true],
    ['[Some future token]', true],
  ])('%j becomes null (reported: %s)', (token, reported) => {
    expect(isUnknownToken(token)).toBe(true);
    const { rows, problems } = parseQueryGpuCsv(`0, ${token}, 12\n`, ['index', 'temperature.gpu', 'power.draw']);
    expect(rows[0]).toEqual({ index: '0', 'temperature.gpu': null, 'power.draw': '12' });
    expect(problems).toHaveLength(reported ? 1 : 0);
    if (reported) expect(problems[0]).toContain(`temperature.gpu is ${token}`);
  });

  test('a name containing ", " is put back together from the surplus parts', () => {
    const line = '0, NVIDIA GeForce RTX 4080, SUPER, Founders, Edition, GPU-1234, 42';
    const { rows, problems } = parseQueryGpuCsv(line, ['index', 'name', 'uuid', 'temperature.gpu']);
    expect(problems).toEqual([]);
    expect(rows[0]).toEqual({
      index: '0',
      name: 'NVIDIA GeForce RTX 4080, SUPER, Founders, Edition',
      uuid: 'GPU-1234',
      'temperature.gpu': '42',
    });
  });

  test('the gpu_name alias is free text too; name as the last field works', () => {
    expect(parseQueryGpuCsv('3, A, B', ['index', 'gpu_name']).rows[0]).toEqual({ index: '3', gpu_name: 'A, B' });
  });

  test('a line with too few values is reported, not guessed at, and the other lines survive', () => {
    const text = `${H200_IDLE}\n580.159.04, 0x18BF10DE, NVIDIA H200\n${H200_IDLE}\n`;
    const { rows, problems } = parseQueryGpuCsv(text, SI_FIELDS);
    expect(rows).toHaveLength(2);
    expect(problems).toEqual([expect.stringMatching(/^line 2: 3 values for 16 fields/)]);
  });

  test('surplus values without a free-text field are reported', () => {
    const { rows, problems } = parseQueryGpuCsv('1, 2, 3', ['index', 'power.draw']);
    expect(rows).toEqual([]);
    expect(problems[0]).toMatch(/^line 1: 3 values for 2 fields/);
  });

  test('two free-text fields make surplus separators ambiguous, so such lines are rejected', () => {
    const { rows, problems } = parseQueryGpuCsv('A, B, C', ['name', 'gpu_name']);
    expect(rows).toEqual([]);
    expect(problems).toHaveLength(2);
  });

  test('an error message instead of CSV is reported as a bad line', () => {
    const { rows, problems } = parseQueryGpuCsv('No devices were found\n', SI_FIELDS);
    expect(rows).toEqual([]);
    expect(problems[0]).toContain('No devices were found');
  });

  test('CRLF line ends, blank lines and surrounding spaces are tolerated', () => {
    const { rows, problems } = parseQueryGpuCsv('\r\n0,  5 , 7\r\n\r\n', ['index', 'fan.speed', 'power.draw']);
    expect(problems).toEqual([]);
    expect(rows).toEqual([{ index: '0', 'fan.speed': '5', 'power.draw': '7' }]);
  });

  test('header mode strips exactly the unit each column header announces', () => {
    const text = [
      'index, memory.used [MiB], utilization.gpu [%], power.draw [W], name, fan.speed [%]',
      '0, 19818 MiB, 100 %, 631.95 W, NVIDIA H100, [N/A]',
      '1, 12 MiB, 3 W, 1 W, X, 0 %',
    ].join('\n');
    const { rows, problems } = parseQueryGpuCsv(
      text,
      ['index', 'memory.used', 'utilization.gpu', 'power.draw', 'name', 'fan.speed'],
      { header: true },
    );
    expect(problems).toEqual([]);
    expect(rows[0]).toEqual({
      index: '0',
      'memory.used': '19818',
      'utilization.gpu': '100',
      'power.draw': '631.95',
      name: 'NVIDIA H100',
      'fan.speed': null,
    });
    // A wrong unit is left in place, so the number conversion rejects it later.
    expect(rows[1]?.['utilization.gpu']).toBe('3 W');
  });

  test('header mode refuses a header that does not match the fields', () => {
    expect(parseQueryGpuCsv('index, name\n0, A', ['index'], { header: true }).problems).toEqual([
      'header has 2 columns for 1 fields',
    ]);
  });
});
