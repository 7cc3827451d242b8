// Telemetry ingest over HTTP: sustained GPU-samples/s and agent.report latency, SQLite and
// PostgreSQL. A load generator process (16 keep-alive clients, 127.0.0.1) posts valid reports of
// 8-GPU samples for many enrolled nodes to a console started as `npm start` starts it.
// Issue 11's goal, for one 8-GPU sample per report: ≥ 10,000 GPU-samples/s with p99 ≤ 100 ms on SQLite,
// ≥ 5,000/s on PostgreSQL (p99 ≤ 100 ms held there too). Other batch sizes are shown, not judged.
//   npx tsx bench/ingest.ts [--nodes 400] [--seconds 8] [--clients 16] [--batches 1,10] [--db sqlite,postgresql]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase } from '@coolant/db/testing';
import { ZTelemetrySample, type TTelemetrySample } from '@coolant/telemetry/schema';
import { metricsText, metricValue, parseMetrics } from '../apps/console/test/support/api';
import { startConsole, trpc } from '../apps/console/test/support/console-process';
import { gpu, sample } from '../packages/api/test/samples';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '400' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    clients: { type: 'string', default: '16' },
    batches: { type: 'string', default: '1,10' },
    db: { type: 'string', default: 'sqlite,postgresql' },
  },
});
const HERE = import.meta.dirname;
const ENROLL = 'bench-ingest-enroll-secret-0123';
const GPUS = 8;
const GOAL = { gpuSamplesPerSecond: { sqlite: 10_000, postgresql: 5_000 }, p99: 100 };

type TLoad = {
  reportsPerSecond: number;
  gpuSamplesPerSecond: number;
  p50: number;
  p99: number;
  reports: number;
  statuses: Record<string, number>;
  acceptedGpuSamplesTotal: number;
  firstError: string | null;
};

/** One valid 8-GPU sample as the agent sends it (the load generator varies seq, time and readings). */
const template: TTelemetrySample = sample(
  1,
  Array.from({ length: GPUS }, (_, index) =>
    gpu(index, {
      name: 'NVIDIA H100 80GB HBM3',
      pciBusId: `00000000:${(0x10 + index).toString(16)}:00.0`,
      driverVersion: '590.48.01',
      utilizationGpu: 50,
      utilizationMemory: 30,
      temperatureGpu: 55,
      temperatureMemory: 60,
      memoryUsedMiB: 40_000,
      memoryTotalMiB: 81_559,
      powerDrawW: 400,
      clockGraphicsMHz: 1980,
      clockMemoryMHz: 2619,
      throttleReasons: { raw: '0x0000000000000000', names: [] },
    }),
  ),
  new Date(),
  {
    host: {
      hostname: 'bench',
      cpuLoadPercent: 12.5,
      memUsedBytes: 8e9,
      memTotalBytes: 64e9,
      os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0', arch: 'x64' },
      gpuInventory: null,
    },
  },
);
ZTelemetrySample.parse(template);

function load(configFile: string): Promise<TLoad> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(HERE, 'lib/ingest-load.mjs'), configFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0
        ? res(JSON.parse(out.trim().split('\n').pop()!) as TLoad)
        : rej(new Error(`ingest load exited ${code}`)),
    );
  });
}

type TRow = { db: string; batch: number; r: TLoad; stored: number | null; perTransaction: number | null; load: string };
const rows: TRow[] = [];
const dir = mkdtempSync(join(tmpdir(), 'coolant-bench-ingest-'));

for (const db of values.db!.split(',')) {
  for (const batch of values.batches!.split(',').map(Number)) {
    // A fresh console and database per row, so each starts from empty tables.
    const pg = db === 'postgresql' ? await createTestDatabase('coolant_bench_ingest') : null;
    const c = await startConsole({ ...(pg ? { databaseUrl: pg.url } : {}), env: { COOLANT_ENROLL_TOKEN: ENROLL } });
    try {
      const tokens: string[] = [];
      for (let i = 0; i < Number(values.nodes); i++) {
        const r = await trpc<{ nodeToken: string }>(
          c.url,
          'agent.enroll',
          { enrollToken: ENROLL, hostname: `bench-${String(i).padStart(4, '0')}`, agentVersion: 'bench' },
          null,
        );
        if (r.status !== 200) throw new Error(`enroll failed: ${r.status} ${r.error?.message}`);
        tokens.push(r.data.nodeToken);
      }
      const file = join(dir, `${db}-${batch}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          url: c.url,
          tokens,
          seconds: Number(values.seconds),
          warmup: Number(values.warmup),
          clients: Number(values.clients),
          samplesPerReport: batch,
          gpus: GPUS,
          sample: template,
        }),
      );
      const r = await load(file);
      if (r.firstError) console.error(`[${db}, ${batch}/report] first error: ${r.firstError}`);
      // The console's own count of GPU samples stored must equal what it acknowledged.
      const metrics = parseMetrics((await metricsText(c.url)).text);
      const stored = metricValue(metrics, 'coolant_ingest_gpu_samples_total');
      // Group commit: how many reports each transaction carried, over the whole run (enrolment excluded).
      const reports = metricValue(metrics, 'coolant_ingest_reports_total');
      const transactions = metricValue(metrics, 'coolant_ingest_transactions_total');
      const perTransaction = reports !== null && transactions ? reports / transactions : null;
      rows.push({
        db,
        batch,
        r,
        stored,
        perTransaction,
        load: loadavg()
          .map((l) => l.toFixed(1))
          .join(' '),
      });
    } finally {
      await c.stop();
      await pg?.drop();
    }
  }
}

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
console.log(
  `\nIngest over HTTP: agent.report from ${values.nodes} enrolled nodes, ${GPUS} GPUs per sample, ${values.clients} keep-alive clients, ${values.seconds} s after a ${values.warmup} s warm-up, 127.0.0.1. goal for 1 sample per report: ≥ ${GOAL.gpuSamplesPerSecond.sqlite.toLocaleString('en-US')} GPU-samples/s on SQLite, ≥ ${GOAL.gpuSamplesPerSecond.postgresql.toLocaleString('en-US')} on PostgreSQL, p99 ≤ ${GOAL.p99} ms\n`,
);
console.log(
  '| db | samples/report | reports/s | GPU-samples/s | p50 ms | p99 ms | goal | reports per transaction | load average after | statuses | GPU samples acknowledged / stored (whole run) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const { db, batch, r, stored, perTransaction, load } of rows) {
  const goal = batch === 1 ? GOAL.gpuSamplesPerSecond[db as 'sqlite' | 'postgresql'] : undefined;
  const verdict = goal === undefined ? '-' : r.gpuSamplesPerSecond >= goal && r.p99 <= GOAL.p99 ? 'met' : 'missed';
  console.log(
    `| ${db} | ${batch} | ${Math.round(r.reportsPerSecond).toLocaleString('en-US')} | ${Math.round(r.gpuSamplesPerSecond).toLocaleString('en-US')} | ${f(r.p50)} | ${f(r.p99)} | ${verdict} | ${perTransaction === null ? '?' : perTransaction.toFixed(1)} | ${load} | ${JSON.stringify(r.statuses)} | ${r.acceptedGpuSamplesTotal.toLocaleString('en-US')} / ${stored?.toLocaleString('en-US') ?? '?'} |`,
  );
}
process.exit(0);
