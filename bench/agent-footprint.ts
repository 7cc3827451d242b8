// Footprint of one real agent at --interval 5 against a console, on a simulated 8-GPU host
// (fleet:sim's nvidia-smi on PATH): RSS and CPU of the agent process and its collector child
// (the systeminformation worker), read from /proc once a second over ~60 s after a warm-up.
// Two builds of the same agent: the bundled .mjs (what a host with Node runs; built here with the
// same esbuild options as scripts/package-agent.mjs, into a temp dir) and the TypeScript source
// under tsx (what `npm run agent` and the tests run).
// Goal: RSS ≤ 80 MB, CPU ≤ 1 % of one core.
//   npx tsx bench/agent-footprint.ts [--seconds 60] [--warmup 12] [--variants bundle,source]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { build as TEsbuild } from 'esbuild';
import { makeSimHost } from '../apps/console/test/support/agents';
import { startConsole, trpc } from '../apps/console/test/support/console-process';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, warmup: { type: 'string', default: '12' }, variants: { type: 'string', default: 'bundle,source' } } });
const ROOT = resolve(import.meta.dirname, '..');
const ENROLL = 'bench-footprint-enroll-secret-01';
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const GOAL = { rssMB: 80, cpuPercent: 1 };

type TProc = { pid: number; ppid: number; cmd: string; rssKB: number; ussKB: number; self: number; children: number };

function readProc(pid: number): TProc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields after the closing parenthesis are fixed.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    return { pid, ppid: Number(f[1]), cmd, rssKB: rss ? Number(rss[1]) : 0, ussKB: NaN, self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/**
 * Unique set size (private pages only). The collector is the same node binary (and, bundled, the
 * same file) as the agent, so what it adds to the host is about its private pages: RSS counts the
 * shared text in both. (PSS would also divide by every other node process on this shared machine.)
 */
function uss(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return get('Private_Clean') + get('Private_Dirty');
  } catch {
    return NaN;
  }
}

function descendants(root: number): TProc[] {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => readProc(Number(d))).filter((p): p is TProc => p !== null);
  const out: TProc[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    for (const p of all) if (p.ppid === pid) {
      out.push(p);
      queue.push(p.pid);
    }
  }
  return out;
}

/** The agent's own process and its long-lived collector child; short-lived nvidia-smi runs are not either. */
function roles(launcher: ChildProcess, variant: string): { agent: TProc | null; collector: TProc | null; wrapper: TProc | null } {
  const root = readProc(launcher.pid!);
  const below = descendants(launcher.pid!);
  const agent = variant === 'bundle' ? root : (below.find((p) => p.ppid === launcher.pid && p.cmd.includes('apps/agent/src/main.ts')) ?? null);
  const collector = agent ? (below.find((p) => p.ppid === agent.pid && p.cmd.startsWith(process.execPath) && !p.cmd.includes('nvidia-smi')) ?? null) : null;
  for (const p of [agent, collector]) if (p) p.ussKB = uss(p.pid);
  return { agent, collector, wrapper: variant === 'bundle' ? null : root };
}

async function buildBundle(): Promise<string> {
  const esbuild = createRequire(join(ROOT, 'package.json'))('esbuild') as { build: typeof TEsbuild };
  const outfile = join(mkdtempSync(join(tmpdir(), 'coolant-bench-agent-')), 'coolant-agent.mjs');
  // The options of scripts/package-agent.mjs (ESM bundle).
  await esbuild.build({
    entryPoints: [join(ROOT, 'apps/agent/src/entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
    external: ['osx-temperature-sensor', 'macos-temperature-sensor'],
    loader: { '.bin': 'binary' },
    define: { __COOLANT_PACKAGING__: '"bundle"' },
    banner: { js: '#!/usr/bin/env node\nimport { createRequire as __coolantCreateRequire } from "node:module"; const require = __coolantCreateRequire(import.meta.url);' },
  });
  return outfile;
}

type TRow = {
  variant: string;
  seconds: number;
  rssAgent: number;
  rssCollector: number;
  rssSumMax: number;
  pairMax: number;
  rssWrapper: number | null;
  cpuAgent: number;
  cpuCollector: number;
  cpuChildren: number;
  samples: number;
  collectorRestarts: number;
};
const rows: TRow[] = [];

const c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL } });
try {
  for (const variant of values.variants!.split(',')) {
    const host = makeSimHost({ seed: 5, gpus: 8 });
    const hostname = `footprint-${variant}`;
    const args = ['--server', c.url, '--state-dir', host.stateDir, '--interval', '5', '--hostname', hostname];
    const command = variant === 'bundle' ? [await buildBundle(), ...args] : [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'apps/agent/src/main.ts'), ...args];
    const child = spawn(process.execPath, command, { env: { ...host.env, COOLANT_ENROLL_TOKEN: ENROLL }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await new Promise((r) => setTimeout(r, WARMUP * 1000));
      const first = roles(child, variant);
      if (!first.agent || !first.collector) throw new Error(`${variant}: agent or collector process not found after the warm-up\n${stderr}`);
      const t0 = performance.now();
      const collectorPids = new Set([first.collector.pid]);
      let rssAgent = 0;
      let rssCollector = 0;
      let rssSumMax = 0;
      let pairMax = 0;
      let rssWrapper = 0;
      let last = first;
      while (performance.now() - t0 < SECONDS * 1000) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = roles(child, variant);
        if (!now.agent) throw new Error(`${variant}: the agent exited\n${stderr}`);
        rssAgent = Math.max(rssAgent, now.agent.rssKB);
        rssCollector = Math.max(rssCollector, now.collector?.rssKB ?? 0);
        rssSumMax = Math.max(rssSumMax, now.agent.rssKB + (now.collector?.rssKB ?? 0));
        pairMax = Math.max(pairMax, now.agent.rssKB + (now.collector?.ussKB ?? 0));
        rssWrapper = Math.max(rssWrapper, now.wrapper?.rssKB ?? 0);
        if (now.collector) collectorPids.add(now.collector.pid);
        last = { agent: now.agent, collector: now.collector ?? last.collector, wrapper: now.wrapper };
      }
      const elapsed = (performance.now() - t0) / 1000;
      const pct = (ticks: number) => (ticks / TICK / elapsed) * 100;
      // A collector restarted during the run: its time before the restart is in the agent's children time.
      const sameCollector = last.collector?.pid === first.collector.pid;
      const list = await trpc<{ nodes: { hostname: string; lastSeq: number }[] }>(c.url, 'fleet.list', undefined, c.adminToken, 'GET');
      rows.push({
        variant,
        seconds: elapsed,
        rssAgent: rssAgent / 1024,
        rssCollector: rssCollector / 1024,
        rssSumMax: rssSumMax / 1024,
        pairMax: pairMax / 1024,
        rssWrapper: variant === 'bundle' ? null : rssWrapper / 1024,
        cpuAgent: pct(last.agent!.self - first.agent.self),
        cpuCollector: sameCollector ? pct(last.collector!.self - first.collector.self) : NaN,
        cpuChildren: pct(last.agent!.children - first.agent.children + (sameCollector ? last.collector!.children - first.collector.children : 0)),
        samples: list.data.nodes.find((n) => n.hostname === hostname)?.lastSeq ?? 0,
        collectorRestarts: collectorPids.size - 1,
      });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }
} finally {
  await c.stop();
}

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
console.log(`\nAgent footprint at --interval 5 on a simulated 8-GPU host, ${SECONDS} s after a ${WARMUP} s warm-up, /proc read every second. Goal: RSS ≤ ${GOAL.rssMB} MB, CPU ≤ ${GOAL.cpuPercent} % of one core (agent + collector). RSS agent + collector double-counts the pages the two processes share (the node binary, the bundle); RSS agent + private (USS) collector counts them once; the goal column judges the latter\n`);
console.log('| agent build | RSS agent (max) | RSS collector (max) | RSS agent + collector (max) | RSS agent + private collector (max) | CPU agent | CPU collector | CPU agent + collector | goal | CPU of short-lived children (simulated nvidia-smi, a Node script) | tsx launcher RSS | samples stored | collector restarts |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const cpu = r.cpuAgent + r.cpuCollector;
  const met = r.pairMax <= GOAL.rssMB && cpu <= GOAL.cpuPercent;
  console.log(
    `| ${r.variant} | ${f(r.rssAgent)} MB | ${f(r.rssCollector)} MB | ${f(r.rssSumMax)} MB | ${f(r.pairMax)} MB | ${f(r.cpuAgent, 2)} % | ${f(r.cpuCollector, 2)} % | ${f(cpu, 2)} % | ${met ? 'met' : 'missed'} | ${f(r.cpuChildren, 2)} % | ${r.rssWrapper === null ? '-' : `${f(r.rssWrapper)} MB`} | ${r.samples} | ${r.collectorRestarts} |`,
  );
}
process.exit(0);
