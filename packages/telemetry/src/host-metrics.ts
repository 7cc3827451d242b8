/**
 * Host metrics that the kernel gives directly, read in the agent's own process: CPU load from
 * /proc/stat deltas, memory from /proc/meminfo, the OS from /etc/os-release (read once) and
 * node:os. No helper process is needed for them, so none has to stay resident between samples
 * (systeminformation, in a short-lived child, is kept for the PCI inventory only).
 *
 * Where /proc is missing (not Linux) node:os answers instead: os.cpus() times and
 * os.totalmem()/freemem().
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { THostOs } from './schema.ts';

export type THostFiles = {
  /** Default /proc/stat. */
  procStat?: string;
  /** Default /proc/meminfo. */
  procMeminfo?: string;
  /** Default /etc/os-release. */
  osRelease?: string;
};

export type THostMetrics = {
  cpuLoadPercent: number | null;
  /** total − MemAvailable (what `free` calls used): page cache does not count as pressure. */
  memUsedBytes: number | null;
  memTotalBytes: number | null;
  os: THostOs | null;
};

type TCpuTimes = { busy: number; total: number };

/**
 * A load reading needs two snapshots of the counters. The first is taken at creation, so the
 * first sample reports the load since then rather than a since-boot average; a sample taken
 * sooner than MIN_LOAD_WINDOW_MS after it waits (within the caller's deadline) for a window long
 * enough to hold a few scheduler ticks.
 */
export const MIN_LOAD_WINDOW_MS = 250;

export class HostMetricsReader {
  private readonly files: Required<THostFiles>;
  private previous: { at: number; times: TCpuTimes | null };
  // Cannot change without a reboot; read once per reader.
  private osInfo: THostOs | null | undefined;

  constructor(files: THostFiles = {}) {
    this.files = {
      procStat: files.procStat ?? '/proc/stat',
      procMeminfo: files.procMeminfo ?? '/proc/meminfo',
      osRelease: files.osRelease ?? '/etc/os-release',
    };
    this.previous = { at: Date.now(), times: this.cpuTimesSync() };
  }

  /** Reads every metric; never throws (an unreadable one is null, with the reason in `errors`). */
  async read(deadline: number): Promise<THostMetrics & { errors: string[] }> {
    const errors: string[] = [];
    const wait = Math.min(this.previous.at + MIN_LOAD_WINDOW_MS, deadline) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const [cpu, mem] = await Promise.all([
      this.cpuLoad().catch((error: unknown) => (errors.push(`CPU load: ${describe(error)}`), null)),
      this.memory().catch((error: unknown) => (errors.push(`memory: ${describe(error)}`), null)),
    ]);
    this.osInfo ??= await this.readOs();
    return {
      cpuLoadPercent: cpu,
      memUsedBytes: mem?.used ?? null,
      memTotalBytes: mem?.total ?? null,
      os: this.osInfo,
      errors,
    };
  }

  private async cpuLoad(): Promise<number | null> {
    const times = await this.cpuTimes();
    const before = this.previous.times;
    this.previous = { at: Date.now(), times };
    if (!before) return null;
    const total = times.total - before.total;
    // No tick elapsed (a window of a few ms): no reading rather than a made-up 0 %.
    if (total <= 0) return null;
    return Math.min(100, Math.max(0, ((times.busy - before.busy) / total) * 100));
  }

  private async cpuTimes(): Promise<TCpuTimes> {
    let text: string;
    try {
      text = await readFile(this.files.procStat, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return osCpuTimes();
      throw error;
    }
    return parseProcStat(text);
  }

  private cpuTimesSync(): TCpuTimes | null {
    try {
      return parseProcStat(readFileSync(this.files.procStat, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return osCpuTimes();
      return null;
    }
  }

  private async memory(): Promise<{ used: number; total: number }> {
    let text: string;
    try {
      text = await readFile(this.files.procMeminfo, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // libuv's freemem() is MemAvailable where there is one.
      return { used: os.totalmem() - os.freemem(), total: os.totalmem() };
    }
    return parseMeminfo(text);
  }

  private async readOs(): Promise<THostOs> {
    const release = await readFile(this.files.osRelease, 'utf8').then(
      parseOsRelease,
      () => ({}) as Record<string, string>,
    );
    return {
      platform: os.platform() || null,
      // The fields systeminformation's osInfo() reported, so a node's OS line reads as before.
      distro: release['NAME'] || null,
      release: release['VERSION_ID'] || null,
      kernel: os.release() || null,
      arch: os.arch() || null,
    };
  }
}

/**
 * The aggregate "cpu" line: user nice system idle iowait irq softirq steal (guest time is
 * already inside user and nice). Waiting on I/O counts as idle, as top and systeminformation do.
 */
export function parseProcStat(text: string): TCpuTimes {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('no aggregate "cpu" line in /proc/stat');
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (v.length < 4 || v.some((n) => !Number.isFinite(n)))
    throw new Error(`unreadable /proc/stat cpu line: ${line.slice(0, 200)}`);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

export function parseMeminfo(text: string): { used: number; total: number } {
  const kB = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const total = kB('MemTotal');
  // MemAvailable exists since Linux 3.14; before it, free + reclaimable cache is the usual estimate.
  const available = kB('MemAvailable') ?? sumOrNull([kB('MemFree'), kB('Buffers'), kB('Cached')]);
  if (total === null || available === null) throw new Error('MemTotal or MemAvailable missing from /proc/meminfo');
  return { used: Math.max(0, total - available), total };
}

export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1]) out[m[1]] = (m[2] ?? '').replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

function osCpuTimes(): TCpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

function sumOrNull(values: (number | null)[]): number | null {
  return values.every((v) => v !== null) ? values.reduce<number>((s, v) => s + (v ?? 0), 0) : null;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
