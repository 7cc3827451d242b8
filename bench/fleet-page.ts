/// <reference lib="dom" />
// Fleet page with 1,000 nodes × 8 GPUs: time from navigation start to the heat grid showing all
// 8,000 GPU cells, in Debian's Chromium (headless, through playwright-core). The nodes are
// seeded over HTTP the way agents arrive (agent.enroll, then one agent.report each), not by
// running 1,000 agent processes.
//   npx tsx bench/fleet-page.ts [--nodes 1000] [--loads 5]
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import type { TTelemetrySample } from '@coolant/telemetry/schema';
import { startConsole, trpc } from '../apps/console/test/support/console-process';
import { gpu, sample } from '../packages/api/test/samples';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '1000' }, loads: { type: 'string', default: '5' } } });
const NODES = Number(values.nodes);
const GPUS = 8;
const ENROLL = 'bench-fleet-page-enroll-secret-0';
const CHROMIUM = process.env.PLAYWRIGHT_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM) throw new Error('Chromium not found: install Debian\'s chromium package or set PLAYWRIGHT_CHROMIUM');

function sampleFor(n: number): TTelemetrySample {
  return sample(
    1,
    Array.from({ length: GPUS }, (_, index) => {
      const util = (n * 37 + index * 11) % 101;
      return gpu(index, {
        uuid: `GPU-fleet-${n}-${index}`,
        name: n % 5 === 0 ? 'NVIDIA H200' : 'NVIDIA H100 80GB HBM3',
        pciBusId: `00000000:${(0x10 + index).toString(16)}:00.0`,
        driverVersion: '590.48.01',
        utilizationGpu: util,
        utilizationMemory: Math.round(util * 0.6),
        temperatureGpu: 35 + Math.round(util * 0.45),
        temperatureMemory: 40 + Math.round(util * 0.45),
        memoryUsedMiB: 1000 + util * 700,
        memoryTotalMiB: 81_559,
        powerDrawW: 70 + util * 6,
        clockGraphicsMHz: 1980,
        clockMemoryMHz: 2619,
        throttleReasons: { raw: '0x0000000000000000', names: [] },
      });
    }),
    new Date(),
    { host: { hostname: `fleet-${n}`, cpuLoadPercent: 20, memUsedBytes: 100e9, memTotalBytes: 2048e9, os: { platform: 'linux', distro: 'Ubuntu', release: '22.04', kernel: '5.15.0', arch: 'x64' }, gpuInventory: null } },
  );
}

async function seed(url: string): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let n = next++; n < NODES; n = next++) {
        const hostname = `fleet-${String(n).padStart(4, '0')}`;
        const e = await trpc<{ nodeToken: string }>(url, 'agent.enroll', { enrollToken: ENROLL, hostname, agentVersion: 'bench' }, null);
        if (e.status !== 200) throw new Error(`enroll ${hostname}: ${e.status} ${e.error?.message}`);
        // A long interval keeps every node "online" for the whole measurement.
        const r = await trpc(url, 'agent.report', { agentVersion: 'bench', intervalSeconds: 60, samples: [sampleFor(n)] }, e.data.nodeToken);
        if (r.status !== 200) throw new Error(`report ${hostname}: ${r.status} ${r.error?.message}`);
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

type TLoad = { load: number; cold: boolean; grid: number; domContentLoaded: number; fleetListEnd: number | null; fleetListBytes: number | null };

/** Node ids in enrollment order, from /metrics (it does not go through fleet.list). */
async function nodeIdsFromMetrics(url: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const ids = [...text.matchAll(/^coolant_node_up\{node="([^"]+)",node_id="([^"]+)"\}/gm)].map((m) => ({ hostname: m[1]!, id: m[2]! }));
  return ids.sort((a, b) => a.hostname.localeCompare(b.hostname)).map((x) => x.id);
}

const c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL } });
const loads: TLoad[] = [];
let seedSeconds: number;
let failure: string | null = null;
let cells: number;
let activeNodes: number;
try {
  seedSeconds = await seed(c.url);
  let list = await trpc<{ summary: { nodes: number; gpus: number } }>(c.url, 'fleet.list', undefined, c.adminToken, 'GET');
  if (list.status !== 200) {
    // Reported, then measured with as many nodes as fleet.list can serve: nodes past that are revoked (revoked nodes are not listed).
    failure = `fleet.list with ${NODES.toLocaleString('en-US')} nodes: HTTP ${list.status}: ${(list.error?.message ?? '').split('\n').filter(Boolean).pop()}`;
    const ids = await nodeIdsFromMetrics(c.url);
    for (let keep = NODES; keep > 0 && list.status !== 200; keep--) {
      const revoked = await trpc(c.url, 'fleet.revokeNode', { id: ids[keep - 1]!, reason: 'bench: over the fleet.list limit' }, c.adminToken);
      if (revoked.status !== 200) throw new Error(`fleet.revokeNode: ${revoked.error?.message}`);
      list = await trpc(c.url, 'fleet.list', undefined, c.adminToken, 'GET');
    }
  }
  if (list.status !== 200) throw new Error(`fleet.list still fails: ${list.error?.message}`);
  cells = list.data.summary.gpus;
  activeNodes = list.data.summary.nodes;

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
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
        const res = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((r) => r.name.includes('/api/trpc/') && r.name.includes('fleet.list'));
        return { dcl: nav?.domContentLoadedEventEnd ?? NaN, listEnd: res[0]?.responseEnd ?? null, listBytes: res[0]?.encodedBodySize ?? null };
      });
      loads.push({ load: i + 1, cold: i === 0, grid: t, domContentLoaded: timing.dcl, fleetListEnd: timing.listEnd, fleetListBytes: timing.listBytes });
    }
  } finally {
    await browser.close();
  }
} finally {
  await c.stop();
}

const f = (n: number | null) => (n === null || !Number.isFinite(n) ? '-' : n.toFixed(0));
if (failure) console.log(`\nFAILED at the requested size: ${failure}\nMeasured below with ${activeNodes} nodes (the rest revoked).`);
console.log(`\nFleet page, ${activeNodes.toLocaleString('en-US')} nodes × ${GPUS} GPUs (${cells.toLocaleString('en-US')} cells), headless Chromium (${CHROMIUM}), console on SQLite; seeded over HTTP in ${seedSeconds.toFixed(1)} s. Times from navigation start (ms), grid polled every animation frame\n`);
console.log(`| load | DOMContentLoaded | fleet.list response received | all ${cells.toLocaleString('en-US')} cells in the heat grid | fleet.list size (encoded) |`);
console.log('|---|---|---|---|---|');
for (const l of loads) {
  console.log(`| ${l.load}${l.cold ? ' (first after login)' : ''} | ${f(l.domContentLoaded)} | ${f(l.fleetListEnd)} | ${f(l.grid)} | ${l.fleetListBytes === null ? '-' : `${(l.fleetListBytes / 1024).toFixed(0)} KiB`} |`);
}
const sorted = loads.map((l) => l.grid).sort((a, b) => a - b);
console.log(`| median of ${loads.length} | | | ${f(sorted[Math.floor(sorted.length / 2)]!)} | |`);
process.exit(0);
