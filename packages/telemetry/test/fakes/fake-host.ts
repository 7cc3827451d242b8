/**
 * Builds a temp "host" for collector tests: a bin dir with the fake nvidia-smi and (optionally)
 * the fake lspci, and an env whose PATH is that dir alone, so no real nvidia-smi, lspci or clinfo
 * on the developer's machine can leak into a test. A few ordinary tools that systeminformation
 * shells out to (cat for osInfo, ...) are linked in next to node.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TGpuFixture } from '../fixtures/fixture-types.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES_DIR = path.join(HERE, '..', 'fixtures');
const SYSTEM_TOOLS = [
  'sh',
  'cat',
  'grep',
  'hostname',
  'uname',
  'getconf',
  'sed',
  'awk',
  'head',
  'tail',
  'tr',
  'cut',
  'sort',
  'ls',
  'dmesg',
];

export type TFakeControl = {
  fixture: string;
  sample?: string;
  hang?: 'all' | 'query' | null;
  exit?: { code: number; message: string; rows?: boolean; help?: boolean } | null;
  lspci?: string | null;
  pidDir: string;
  log: string;
};

export type TFakeCall = { tool: 'nvidia-smi' | 'lspci'; pid: number; args: string[] };

export type TFakeHost = {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Changes what the fakes do from their next call on. */
  control(update: Partial<Omit<TFakeControl, 'pidDir' | 'log'>>): Promise<void>;
  calls(): Promise<TFakeCall[]>;
  /** Pids of every fake nvidia-smi started so far. */
  nvidiaSmiPids(): Promise<number[]>;
  /** Fake kernel files for the collector's `hostFiles` option (host metrics from /proc). */
  hostFiles: { procStat: string; procMeminfo: string; osRelease: string };
  /** Rewrites one of the fake kernel files. */
  writeHostFile(name: keyof TFakeHost['hostFiles'], text: string): Promise<void>;
  cleanup(): Promise<void>;
};

/** An aggregate and one per-CPU line, as Linux prints them: user nice system idle iowait irq softirq steal guest guest_nice. */
export function procStat(ticks: { user: number; system: number; idle: number; iowait?: number }): string {
  const line = (name: string) => `${name} ${ticks.user} 0 ${ticks.system} ${ticks.idle} ${ticks.iowait ?? 0} 0 0 0 0 0`;
  return `${line('cpu ')}\n${line('cpu0')}\nintr 1 2 3\nctxt 42\nbtime 1764600000\n`;
}

export function procMeminfo(kB: { total: number; free: number; available?: number }): string {
  const lines = [`MemTotal:       ${kB.total} kB`, `MemFree:        ${kB.free} kB`];
  if (kB.available !== undefined) lines.push(`MemAvailable:   ${kB.available} kB`);
  lines.push('Buffers:          1024 kB', 'Cached:         2048 kB', 'SwapTotal:            0 kB');
  return `${lines.join('\n')}\n`;
}

export function loadFixture(id: string): Promise<TGpuFixture> {
  return readFile(path.join(FIXTURES_DIR, `${id}.json`), 'utf8').then((text) => JSON.parse(text) as TGpuFixture);
}

export async function createFakeHost(options: {
  /** A fixture id from test/fixtures, or a fixture object a test derived from one. */
  fixture: string | TGpuFixture;
  sample?: string;
  lspci?: boolean;
  nvidiaSmi?: boolean;
}): Promise<TFakeHost> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'coolant-telemetry-'));
  const bin = path.join(dir, 'bin');
  const pidDir = path.join(dir, 'pids');
  await mkdir(bin);
  await mkdir(pidDir);

  let fixturePath: string;
  if (typeof options.fixture === 'string') {
    fixturePath = path.join(FIXTURES_DIR, `${options.fixture}.json`);
  } else {
    fixturePath = path.join(dir, 'fixture.json');
    await writeFile(fixturePath, JSON.stringify(options.fixture));
  }

  const install = async (fake: string, name: string) => {
    await copyFile(path.join(HERE, fake), path.join(bin, name));
    await chmod(path.join(bin, name), 0o755);
  };
  if (options.nvidiaSmi ?? true) await install('fake-nvidia-smi.mjs', 'nvidia-smi');
  if (options.lspci ?? true) await install('fake-lspci.mjs', 'lspci');
  await symlink(process.execPath, path.join(bin, 'node'));
  for (const tool of SYSTEM_TOOLS) {
    const found = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((p) => existsSync(p));
    if (found) await symlink(found, path.join(bin, tool));
  }

  const kernel = path.join(dir, 'kernel');
  await mkdir(kernel);
  const hostFiles = {
    procStat: path.join(kernel, 'stat'),
    procMeminfo: path.join(kernel, 'meminfo'),
    osRelease: path.join(kernel, 'os-release'),
  };
  await writeFile(hostFiles.procStat, procStat({ user: 1000, system: 500, idle: 8500 }));
  await writeFile(
    hostFiles.procMeminfo,
    procMeminfo({ total: 16 * 1024 * 1024, free: 4 * 1024 * 1024, available: 12 * 1024 * 1024 }),
  );
  await writeFile(
    hostFiles.osRelease,
    'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n',
  );

  const controlPath = path.join(dir, 'control.json');
  let control: TFakeControl = {
    fixture: fixturePath,
    sample: options.sample ?? 'idle',
    pidDir,
    log: path.join(dir, 'calls.jsonl'),
  };
  await writeFile(controlPath, JSON.stringify(control));

  return {
    dir,
    env: { PATH: bin, FAKE_CONTROL: controlPath, LANG: 'C.UTF-8' },
    async control(update) {
      control = { ...control, ...update };
      await writeFile(controlPath, JSON.stringify(control));
    },
    async calls() {
      const text = await readFile(control.log, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as TFakeCall);
    },
    async nvidiaSmiPids() {
      return (await readdir(pidDir)).map(Number);
    },
    hostFiles,
    writeHostFile: (name, text) => writeFile(hostFiles[name], text),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Live (not zombie) children of `parent` whose command line contains `needle`, from /proc. */
export async function childProcesses(parent: number, needle: string): Promise<{ pid: number; cmd: string }[]> {
  const found: { pid: number; cmd: string }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== parent || fields[0] === 'Z') continue;
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replace(/\0/g, ' ').trim();
      if (cmd.includes(needle)) found.push({ pid: Number(name), cmd });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** True once `pid` is gone or a zombie (killed, waiting for whoever reaps orphans). */
export async function processIsGone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name, is the state.
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Polls until every pid is gone; returns the ones still alive at the end. */
export async function waitUntilGone(pids: number[], withinMs: number): Promise<number[]> {
  const until = Date.now() + withinMs;
  for (;;) {
    const alive: number[] = [];
    for (const pid of pids) if (!(await processIsGone(pid))) alive.push(pid);
    if (alive.length === 0 || Date.now() > until) return alive;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
