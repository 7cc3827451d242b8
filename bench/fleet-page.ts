/// <reference lib="dom" />
// Fleet page with 1,000 nodes × 8 GPUs: time from navigation start to the heat grid showing all
// 8,000 GPU cells, in Debian's Chromium (headless, through playwright-core). The nodes are real
// agents reporting every 5 s: the light fleet simulation (`npm run fleet:sim -- --light`, its
// bundle on plain node, one process), each node with the agent's own spool, sender and smoke-job
// long poll. The console is the built product (scripts/start.mjs); this driver only orchestrates.
// --sim-no-fsync: the simulated agents' spools skip fsync. A real agent fsyncs each record on its own
// host's disk; a thousand of them in one process here put ~400 fsyncs a second on the disk the
// console commits to, a load no console of a real fleet shares. The output says which was run.
//   npx tsx bench/fleet-page.ts [--nodes 1000] [--loads 5] [--steady 15] [--job-nodes N (default all)] [--sim-no-fsync]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startConsole, trpc } from '../apps/console/test/support/console-process';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    loads: { type: 'string', default: '5' },
    steady: { type: 'string', default: '15' },
    'job-nodes': { type: 'string' },
    'sim-no-fsync': { type: 'boolean', default: false },
  },
});
const NODES = Number(values.nodes);
const GPUS = 8;
const INTERVAL = 5;
const ENROLL = 'bench-fleet-page-enroll-secret-0';
const CHROMIUM =
  process.env.PLAYWRIGHT_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM) throw new Error("Chromium not found: install Debian's chromium package or set PLAYWRIGHT_CHROMIUM");

/** CPU seconds (user + system) of a process so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function meter(pids: Record<string, number>) {
  const t0 = performance.now();
  const c0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    return Object.fromEntries(
      Object.entries(pids).map(([k, pid]) => [k, (100 * (cpuSeconds(pid) - c0[k]!)) / seconds]),
    ) as Record<string, number>;
  };
}

type TList = {
  summary: { nodes: number; online: number; stale: number; offline: number; gpus: number; firingAlerts: number };
};

type TLoad = {
  load: number;
  cold: boolean;
  grid: number;
  domContentLoaded: number;
  fleetListEnd: number | null;
  fleetListBytes: number | null;
};

const c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL } });
const loads: TLoad[] = [];
let sim: ReturnType<typeof spawn> | null = null;
let simOut = '';
let onlineSeconds: number;
let cells: number;
let list: TList;
let steady: Record<string, number>;
let during: Record<string, number>;
let simRates: number[];
let atSteady: TList['summary'];
try {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/fleet-sim/build-light.mjs')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building the light sim: ${build.stderr}`);
  const t0 = performance.now();
  // No flaky node: a GPU that comes and goes would make "all cells" a moving target.
  sim = spawn(
    process.execPath,
    [
      build.stdout.trim(),
      '--server',
      c.url,
      '--enroll-token',
      ENROLL,
      '--nodes',
      String(NODES),
      '--gpus',
      String(GPUS),
      '--interval',
      String(INTERVAL),
      '--flaky',
      '0',
      '--job-nodes',
      values['job-nodes'] ?? String(NODES),
      '--prefix',
      'fleet',
      '--state-dir',
      mkdtempSync(join(tmpdir(), 'coolant-bench-fleet-')),
      ...(values['sim-no-fsync'] ? ['--no-fsync'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  sim.stdout!.on('data', (d: Buffer) => (simOut += d));
  sim.stderr!.on('data', (d: Buffer) => (simOut += d));
  const simPid = sim.pid!;
  for (;;) {
    const r = await trpc<TList>(c.url, 'fleet.list', undefined, c.adminToken, 'GET');
    if (r.status !== 200) throw new Error(`fleet.list: HTTP ${r.status}: ${r.error?.message}`);
    list = r.data;
    // Every node enrolled and reported its GPUs (online or, if the console lags, stale: cells either way).
    if (list.summary.nodes === NODES && list.summary.gpus === NODES * GPUS) break;
    if (performance.now() - t0 > 300_000)
      throw new Error(
        `after 300 s only ${list.summary.nodes}/${NODES} nodes (${list.summary.online} online) with ${list.summary.gpus} GPUs; sim said:\n${simOut.slice(-2000)}`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
  onlineSeconds = (performance.now() - t0) / 1000;
  cells = list.summary.gpus;

  // The load the page is measured under, without the browser: the sim's own 10-s rate lines.
  const mark = simOut.length;
  const stopSteady = meter({ console: c.child.pid!, sim: simPid });
  await new Promise((r) => setTimeout(r, Number(values.steady) * 1000));
  steady = stopSteady();
  atSteady = (await trpc<TList>(c.url, 'fleet.list', undefined, c.adminToken, 'GET')).data.summary;
  simRates = [...simOut.slice(mark).matchAll(/([\d.]+) reports\/s delivered/g)].map((m) => Number(m[1]));

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const stopDuring = meter({ console: c.child.pid!, sim: simPid });
  try {
    const context = await browser.newContext({ baseURL: c.url, viewport: { width: 1600, height: 1000 } });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('test-admin-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/fleet/, { timeout: 60_000 });
    // Then a fresh navigation per load: the first one after login is the cold one (page code not cached yet).
    for (let i = 0; i < Number(values.loads); i++) {
      await page.goto('about:blank');
      await page.goto('/fleet', { waitUntil: 'commit' });
      // performance.now() counts from this document's navigation start.
      const grid = await page.waitForFunction(
        (cells) => {
          const n = document.querySelectorAll('[data-testid="heat-grid"] [data-testid="gpu-cell"]').length;
          return n === cells ? performance.now() : null;
        },
        cells,
        { polling: 'raf', timeout: 120_000 },
      );
      const t = (await grid.jsonValue()) as number;
      const timing = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
        const res = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter(
          (r) => r.name.includes('/api/trpc/') && r.name.includes('fleet.list'),
        );
        return {
          dcl: nav?.domContentLoadedEventEnd ?? NaN,
          listEnd: res[0]?.responseEnd ?? null,
          listBytes: res[0]?.encodedBodySize ?? null,
        };
      });
      loads.push({
        load: i + 1,
        cold: i === 0,
        grid: t,
        domContentLoaded: timing.dcl,
        fleetListEnd: timing.listEnd,
        fleetListBytes: timing.listBytes,
      });
    }
  } finally {
    during = stopDuring();
    await browser.close();
  }
  list = (await trpc<TList>(c.url, 'fleet.list', undefined, c.adminToken, 'GET')).data;
} finally {
  sim?.kill('SIGTERM');
  await c.stop();
}

const f = (n: number | null) => (n === null || !Number.isFinite(n) ? '-' : n.toFixed(0));
const pct = (n: number | undefined) => `${(n ?? NaN).toFixed(0)} %`;
const rate = simRates.length
  ? `${Math.min(...simRates).toFixed(1)}–${Math.max(...simRates).toFixed(1)} reports/s (${simRates.join(', ')} per 10 s window)`
  : 'no rate line';
console.log(
  `\nFleet page, ${NODES.toLocaleString('en-US')} nodes × ${GPUS} GPUs (${cells.toLocaleString('en-US')} cells), headless Chromium (${CHROMIUM}), console on SQLite (built, scripts/start.mjs)`,
);
console.log(
  `Nodes: fleet:sim --light${values['sim-no-fsync'] ? ' --no-fsync (spools without fsync)' : ' (spools fsync each record, as real agents do)'}, one process, reporting every ${INTERVAL} s (goal ${(NODES / INTERVAL).toFixed(0)} reports/s); all online with their GPUs ${onlineSeconds.toFixed(1)} s after the sim started; ${list!.summary.firingAlerts} alerts firing at the end (the hot nodes).`,
);
const jobNodes = values['job-nodes'] ?? String(NODES);
console.log(
  `Steady state (${values.steady} s, before the browser; ${jobNodes === String(NODES) ? 'every node' : `${jobNodes} nodes`} long-polling for smoke jobs): sim delivered ${rate}; CPU of one core: console ${pct(steady.console)}, sim ${pct(steady.sim)}; nodes then ${atSteady!.online} online, ${atSteady!.stale} stale, ${atSteady!.offline} offline.`,
);
console.log(
  `During the page loads: console ${pct(during.console)}, sim ${pct(during.sim)}; nodes at the end ${list!.summary.online} online, ${list!.summary.stale} stale, ${list!.summary.offline} offline.`,
);
console.log(
  `Load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${cpus().length} cores. Times from navigation start (ms), grid polled every animation frame\n`,
);
console.log(
  `| load | DOMContentLoaded | fleet.list response received | all ${cells.toLocaleString('en-US')} cells in the heat grid | fleet.list size (encoded) |`,
);
console.log('|---|---|---|---|---|');
for (const l of loads) {
  console.log(
    `| ${l.load}${l.cold ? ' (first after login)' : ''} | ${f(l.domContentLoaded)} | ${f(l.fleetListEnd)} | ${f(l.grid)} | ${l.fleetListBytes === null ? '-' : `${(l.fleetListBytes / 1024).toFixed(0)} KiB`} |`,
  );
}
const sorted = loads.map((l) => l.grid).sort((a, b) => a - b);
console.log(`| median of ${loads.length} | | | ${f(sorted[Math.floor(sorted.length / 2)]!)} | |`);
process.exit(0);
