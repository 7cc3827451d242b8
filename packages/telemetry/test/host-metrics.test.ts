/**
 * Host metrics come from the kernel in the collector's own process (no helper process): CPU load
 * from /proc/stat deltas, memory from /proc/meminfo, the OS from os-release. The fake host points
 * the collector at fake kernel files, so each figure is checked exactly.
 */
import os from 'node:os';
import { afterEach, expect, test } from 'vitest';
import { createCollector, ZCollectedSample } from '../src/index.ts';
import { parseProcStat } from '../src/host-metrics.ts';
import { createFakeHost, procMeminfo, procStat, type TFakeHost } from './fakes/fake-host.ts';

const hosts: TFakeHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.cleanup()));
});

async function fakeHost(): Promise<TFakeHost> {
  const host = await createFakeHost({ fixture: 'l40s', lspci: false });
  hosts.push(host);
  return host;
}

test('CPU load is the busy share of the ticks between two samples; memory is total − MemAvailable; the OS comes from os-release', async () => {
  const host = await fakeHost();
  // The collector reads the first counters when it is created.
  const collector = createCollector({ env: host.env, hostFiles: host.hostFiles });
  try {
    // +300 user, +100 system, +400 idle, +200 iowait: 400 busy of 1,000.
    await host.writeHostFile('procStat', procStat({ user: 1300, system: 600, idle: 8900, iowait: 200 }));
    const first = await collector.collect({ timeoutMs: 20_000 });
    expect(ZCollectedSample.parse(first)).toEqual(first);
    expect(first.host.cpuLoadPercent).toBeCloseTo(40, 10);
    expect(first.host.memTotalBytes).toBe(16 * 1024 * 1024 * 1024);
    expect(first.host.memUsedBytes).toBe(4 * 1024 * 1024 * 1024);
    expect(first.host.os).toEqual({
      platform: os.platform(),
      distro: 'Ubuntu',
      release: '22.04',
      kernel: os.release(),
      arch: os.arch(),
    });
    expect(first.health.hostMetrics).toEqual({ status: 'ok', message: null });

    // The next sample measures from the previous one, not from creation or boot: +900 busy of 1,000.
    await host.writeHostFile('procStat', procStat({ user: 2200, system: 600, idle: 9000, iowait: 200 }));
    // An old kernel without MemAvailable: free + buffers + cached.
    await host.writeHostFile('procMeminfo', procMeminfo({ total: 100_000, free: 10_000 }));
    await host.writeHostFile('osRelease', 'NAME="Changed"\n');
    const second = await collector.collect({ timeoutMs: 20_000 });
    expect(second.host.cpuLoadPercent).toBeCloseTo(90, 10);
    expect(second.host.memUsedBytes).toBe((100_000 - 10_000 - 1024 - 2048) * 1024);
    // Read once: the OS does not change under a running agent.
    expect(second.host.os?.distro).toBe('Ubuntu');
  } finally {
    await collector.close();
  }
});

test('no tick between two samples gives no CPU reading rather than 0 %', async () => {
  const host = await fakeHost();
  const collector = createCollector({ env: host.env, hostFiles: host.hostFiles });
  try {
    const sample = await collector.collect({ timeoutMs: 20_000 });
    expect(sample.host.cpuLoadPercent).toBeNull();
    expect(sample.health.hostMetrics.status).toBe('ok');
  } finally {
    await collector.close();
  }
});

test('an unreadable kernel file fails host metrics with the reason; the rest of the sample is kept', async () => {
  const host = await fakeHost();
  const collector = createCollector({ env: host.env, hostFiles: host.hostFiles });
  try {
    await host.writeHostFile('procMeminfo', 'garbage\n');
    await host.writeHostFile('procStat', procStat({ user: 1500, system: 500, idle: 9000 }));
    const sample = await collector.collect({ timeoutMs: 20_000 });
    expect(ZCollectedSample.parse(sample)).toEqual(sample);
    expect(sample.health.hostMetrics).toEqual({
      status: 'failed',
      message: 'memory: MemTotal or MemAvailable missing from /proc/meminfo',
    });
    expect(sample.health.errors).toEqual(['host metrics: memory: MemTotal or MemAvailable missing from /proc/meminfo']);
    expect(sample.host).toMatchObject({ memUsedBytes: null, memTotalBytes: null, cpuLoadPercent: 50 });
    expect(sample.gpus).toHaveLength(1);
  } finally {
    await collector.close();
  }
});

test('the real /proc of this machine gives a load in 0..100 and a plausible memory size', async () => {
  const host = await fakeHost();
  const collector = createCollector({ env: host.env });
  try {
    const sample = await collector.collect({ timeoutMs: 20_000 });
    expect(sample.host.cpuLoadPercent).toBeGreaterThanOrEqual(0);
    expect(sample.host.cpuLoadPercent).toBeLessThanOrEqual(100);
    expect(sample.host.memTotalBytes).toBe(os.totalmem());
    expect(sample.host.memUsedBytes).toBeGreaterThan(0);
    expect(sample.host.os?.platform).toBe('linux');
  } finally {
    await collector.close();
  }
});

test('/proc/stat: iowait counts as idle, steal as busy; a file without the aggregate line is an error', () => {
  expect(parseProcStat('cpu  10 0 10 70 10 0 0 0 0 0\n')).toEqual({ busy: 20, total: 100 });
  expect(parseProcStat('cpu  10 0 10 60 10 0 0 10 0 0\n')).toEqual({ busy: 30, total: 100 });
  expect(() => parseProcStat('cpu0 1 2 3 4\n')).toThrow('no aggregate "cpu" line in /proc/stat');
});
