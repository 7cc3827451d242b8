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
const SYSTEM_TOOLS = ['sh', 'cat', 'grep', 'hostname', 'uname', 'getconf', 'sed', 'awk', 'head', 'tail', 'tr', 'cut', 'sort', 'ls', 'dmesg'];

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
  cleanup(): Promise<void>;
};

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

  const controlPath = path.join(dir, 'control.json');
  let control: TFakeControl = { fixture: fixturePath, sample: options.sample ?? 'idle', pidDir, log: path.join(dir, 'calls.jsonl') };
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
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
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
