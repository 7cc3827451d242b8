// Footprint of one real agent at --interval 5 against a real console, on a simulated 8-GPU host
// (fleet:sim's nvidia-smi on PATH): RSS and PSS of every process of the agent's tree (the agent,
// any collector child it has, the short-lived nvidia-smi runs), read from /proc once a second
// over ~40 s after a warm-up, and CPU from /proc/<pid>/stat.
// It runs what users run: dist/agent/coolant-agent.mjs, built by
// `node scripts/package-agent.mjs --bundle-only --if-stale` (the bundle `npm start`'s local agent
// and a host with Node run), under plain node. So this bench has no esbuild options of its own: the
// bundle is built with the agent's options from scripts/lib/esbuild-options.mjs, like every bundle. `--compare label=/path/to/other.mjs` adds another
// bundle to the same run (e.g. one built from an older commit), so before and after share one
// machine state.
// Goal (issue 11): everything of the agent ≤ 80 MB, CPU ≤ 1 % of one core.
//   npx tsx bench/agent-footprint.ts [--seconds 40] [--warmup 12] [--compare before=/tmp/old/coolant-agent.mjs]
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSimHost } from '../apps/console/test/support/agents';
import { startConsole, trpc } from '../apps/console/test/support/console-process';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '12' },
    compare: { type: 'string', multiple: true, default: [] },
    // A GPU host has lspci, and with it systeminformation's graphics() does its real work (lspci
    // and its own nvidia-smi run); --no-lspci measures a host without it.
    'no-lspci': { type: 'boolean', default: false },
  },
});
const ROOT = resolve(import.meta.dirname, '..');
const ENROLL = 'bench-footprint-enroll-secret-01';
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const GOAL = { mb: 80, cpuPercent: 1 };

type TProc = {
  pid: number;
  ppid: number;
  cmd: string;
  rssKB: number;
  pssKB: number;
  ussKB: number;
  cpuTicks: number;
  childTicks: number;
};

function readProc(pid: number, withMemory: boolean): TProc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields after the closing parenthesis are fixed.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    const p: TProc = {
      pid,
      ppid: Number(f[1]),
      cmd,
      rssKB: 0,
      pssKB: 0,
      ussKB: 0,
      cpuTicks: Number(f[11]) + Number(f[12]),
      childTicks: Number(f[13]) + Number(f[14]),
    };
    if (withMemory) {
      // smaps_rollup: Rss, Pss (shared pages divided among every process mapping them) and the
      // private pages (what this process alone adds) in one read.
      const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
      p.rssKB = get('Rss');
      p.pssKB = get('Pss');
      p.ussKB = get('Private_Clean') + get('Private_Dirty');
    }
    return p;
  } catch {
    return null;
  }
}

/** The agent and every process below it, the agent first. */
function tree(root: number): TProc[] {
  const parents = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parents.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const pids = [root];
  for (let i = 0; i < pids.length; i++) for (const [pid, ppid] of parents) if (ppid === pids[i]) pids.push(pid);
  return pids.map((pid) => readProc(pid, true)).filter((p): p is TProc => p !== null);
}

/** A node child of the agent that is not a simulated nvidia-smi: the collector (resident or not). */
const isCollector = (p: TProc, agentPid: number) =>
  p.ppid === agentPid && p.cmd.startsWith(process.execPath) && !p.cmd.includes('nvidia-smi');

type TRow = {
  variant: string;
  seconds: number;
  ticks: number;
  agentRss: { steady: number; peak: number };
  agentPss: { steady: number; peak: number };
  treeRss: { steady: number; peak: number };
  treePss: { steady: number; peak: number };
  /** Agent RSS + the private pages of the rest: shared pages counted once within the tree. */
  treeOnce: { steady: number; peak: number };
  collectorSeen: number;
  collectorPids: number;
  cpuAgent: number;
  cpuCollector: number;
  cpuChildren: number;
  samples: number;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const stat = (xs: number[]) => ({ steady: median(xs) / 1024, peak: Math.max(...xs) / 1024 });

async function measure(c: Awaited<ReturnType<typeof startConsole>>, variant: string, bundle: string): Promise<TRow> {
  const host = makeSimHost({ seed: 5, gpus: 8 });
  if (!values['no-lspci']) {
    // The listing of a captured H100 host, printed whatever the arguments (graphics() runs `lspci -vvv`).
    const listing = join(host.bin, '..', 'lspci.txt');
    writeFileSync(
      listing,
      (
        JSON.parse(readFileSync(join(ROOT, 'packages/telemetry/test/fixtures/h100-80gb-hbm3.json'), 'utf8')) as {
          lspci: string;
        }
      ).lspci,
    );
    writeFileSync(join(host.bin, 'lspci'), `#!/bin/sh\nexec cat "${listing}"\n`);
    chmodSync(join(host.bin, 'lspci'), 0o755);
  }
  const hostname = `footprint-${variant.replace(/[^A-Za-z0-9._-]/g, '-')}`;
  const child = spawn(
    process.execPath,
    [bundle, '--server', c.url, '--state-dir', host.stateDir, '--interval', '5', '--hostname', hostname],
    {
      env: { ...host.env, COOLANT_ENROLL_TOKEN: ENROLL },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await new Promise((r) => setTimeout(r, WARMUP * 1000));
    const first = readProc(child.pid!, false);
    if (!first) throw new Error(`${variant}: the agent exited during the warm-up\n${stderr}`);
    const t0 = performance.now();
    const series = {
      agentRss: [] as number[],
      agentPss: [] as number[],
      treeRss: [] as number[],
      treePss: [] as number[],
      treeOnce: [] as number[],
    };
    const collectorPids = new Set<number>();
    // Collector CPU: the last reading of each collector pid (a short-lived one is gone before it
    // is reaped into the agent's children time, which is counted separately).
    const collectorTicks = new Map<number, { first: number; last: number }>();
    let collectorSeen = 0;
    let ticks = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      const procs = tree(child.pid!);
      const agent = procs[0];
      if (!agent || agent.pid !== child.pid) throw new Error(`${variant}: the agent exited\n${stderr}`);
      const rest = procs.slice(1);
      ticks++;
      series.agentRss.push(agent.rssKB);
      series.agentPss.push(agent.pssKB);
      series.treeRss.push(procs.reduce((s, p) => s + p.rssKB, 0));
      series.treePss.push(procs.reduce((s, p) => s + p.pssKB, 0));
      series.treeOnce.push(agent.rssKB + rest.reduce((s, p) => s + p.ussKB, 0));
      const collectors = rest.filter((p) => isCollector(p, agent.pid));
      if (collectors.length) collectorSeen++;
      for (const p of collectors) {
        collectorPids.add(p.pid);
        const t = collectorTicks.get(p.pid);
        collectorTicks.set(p.pid, { first: t?.first ?? p.cpuTicks, last: p.cpuTicks });
      }
    }
    const last = readProc(child.pid!, false)!;
    const elapsed = (performance.now() - t0) / 1000;
    const pct = (n: number) => (n / TICK / elapsed) * 100;
    const list = await trpc<{ nodes: { hostname: string; lastSeq: number }[] }>(
      c.url,
      'fleet.list',
      undefined,
      c.adminToken,
      'GET',
    );
    return {
      variant,
      seconds: elapsed,
      ticks,
      agentRss: stat(series.agentRss),
      agentPss: stat(series.agentPss),
      treeRss: stat(series.treeRss),
      treePss: stat(series.treePss),
      treeOnce: stat(series.treeOnce),
      collectorSeen,
      collectorPids: collectorPids.size,
      cpuAgent: pct(last.cpuTicks - first.cpuTicks),
      cpuCollector: pct([...collectorTicks.values()].reduce((s, t) => s + t.last - t.first, 0)),
      // Everything reaped by the agent: nvidia-smi runs and short-lived collector children.
      cpuChildren: pct(last.childTicks - first.childTicks),
      samples: Number(list.data.nodes.find((n) => n.hostname === hostname)?.lastSeq ?? 0),
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const build = spawnSync(process.execPath, [join(ROOT, 'scripts/package-agent.mjs'), '--bundle-only', '--if-stale'], {
  cwd: ROOT,
  encoding: 'utf8',
});
if (build.status !== 0) throw new Error(`package-agent --bundle-only failed:\n${build.stdout}${build.stderr}`);
const variants: [string, string][] = [['dist/agent/coolant-agent.mjs', join(ROOT, 'dist/agent/coolant-agent.mjs')]];
for (const spec of values.compare!) {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--compare takes label=/path/to/bundle.mjs, got "${spec}"`);
  variants.push([spec.slice(0, eq), spec.slice(eq + 1)]);
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadBefore = load();
const rows: TRow[] = [];
const progress = (m: string) =>
  process.stderr.write(`[agent-footprint ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
progress('starting the console (builds it when stale)');
// On this shared machine another console's build can replace .next under a starting one ("Could
// not find a production build"); that is a start-up race, not a measurement: try again.
let c: Awaited<ReturnType<typeof startConsole>> | null = null;
for (let attempt = 1; !c; attempt++) {
  try {
    c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL } });
  } catch (error) {
    if (attempt >= 4 || !/Could not find a production build/.test(String(error))) throw error;
    progress(`the console lost its build while starting (attempt ${attempt}); starting it again`);
  }
}
try {
  for (const [label, bundle] of variants) {
    progress(`measuring ${label}`);
    rows.push(await measure(c, label, bundle));
  }
} finally {
  await c.stop();
}

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const sp = (s: { steady: number; peak: number }) => `${f(s.steady)} / ${f(s.peak)} MB`;
console.log(
  `\nAgent footprint at --interval 5 on a simulated 8-GPU host (${values['no-lspci'] ? 'no lspci' : "lspci on PATH, printing an H100 host's listing"}) against a real console, ${SECONDS} s after a ${WARMUP} s warm-up, /proc read every second (load average ${loadBefore} before, ${load()} after).`,
);
console.log(
  `Each memory cell is steady (median of the readings) / peak (max). Tree = the agent and every process below it. PSS divides shared pages among every process that maps them (other node processes on this machine too); "RSS, shared once" is the agent's RSS plus the private pages of the rest of the tree. Goal: tree RSS, shared once, steady ≤ ${GOAL.mb} MB and CPU ≤ ${GOAL.cpuPercent} % of one core (agent + collector).\n`,
);
console.log(
  '| agent | RSS agent | PSS agent | RSS tree | PSS tree | RSS tree, shared once | collector child present | collector pids | CPU agent | CPU collector (while seen) | CPU reaped children (nvidia-smi, collector runs) | goal | samples stored |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const cpu = r.cpuAgent + r.cpuCollector;
  const met = r.treeOnce.steady <= GOAL.mb && cpu <= GOAL.cpuPercent;
  console.log(
    `| ${r.variant} | ${sp(r.agentRss)} | ${sp(r.agentPss)} | ${sp(r.treeRss)} | ${sp(r.treePss)} | ${sp(r.treeOnce)} | ${r.collectorSeen}/${r.ticks} readings | ${r.collectorPids} | ${f(r.cpuAgent, 2)} % | ${f(r.cpuCollector, 2)} % | ${f(r.cpuChildren, 2)} % | ${met ? 'met' : 'missed'} | ${r.samples} |`,
  );
}
process.exit(0);
