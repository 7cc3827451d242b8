// Admission at scale, in-process (no HTTP): decisions/s with a small counter table, after
// 1,000,000 distinct subjects have been admitted over a simulated day, and after the day rolls
// over and the ended window is pruned; database size before and after pruning. The clock is
// injected, so a "day" takes as long as the load does. The process's RSS at the end of the day is
// reported once the garbage is gone (two full GCs, see rssNow), with its growth over the small
// table's, and as the peak seen during that database's run (sampled every 50 ms).
// Built code, not tsx: bundled by esbuild and run by plain node (with --expose-gc) through
//   node bench/lib/run-bundled.mjs bench/admission-scale.ts [--subjects 1000000] [--pg-subjects 1000000] [--seconds 5] [--concurrency 256] [--db sqlite,postgresql]
import { statSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureEnrollmentSecret, startServices, type TRunningServices } from '@coolant/api';
import { createPrismaClient, resolveDbConfig, tuneSqlite, type TDbConfig, type TDbProvider } from '@coolant/db';
import { applyMigrations } from '@coolant/db/migrate';
import { createTestDb, type TTestDb } from '@coolant/db/testing';

// The migrations run in a child process of this same bundle, as the console runs them (its
// migrate-worker): none of the wasm schema engine's memory stays in the RSS this bench reports as
// the admission's (a worker thread left ~45 MB of native memory behind).
if (process.env.COOLANT_BENCH_MIGRATE) {
  await applyMigrations(JSON.parse(process.env.COOLANT_BENCH_MIGRATE) as TDbConfig);
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    subjects: { type: 'string', default: '1000000' },
    'pg-subjects': { type: 'string', default: '1000000' },
    'pg-consume-load': { type: 'string', default: '20000' },
    small: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '256' },
    db: { type: 'string', default: 'sqlite,postgresql' },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const SMALL = Number(values.small);
const TIER = 'scale';
const DAY_LIMIT = 1_000_000;
const MIN = 60_000;
// A fixed simulated day; the clock only moves when the bench moves it.
const DAY0 = Date.parse('2026-11-27T00:00:00Z');

type TRate = { rps: number; p50: number; p99: number; count: number; denied: number };
type TRow = {
  db: string;
  phase: string;
  subjects: string;
  rows: string;
  r?: TRate;
  note?: string;
  size?: string;
  rss?: string;
};
const rows: TRow[] = [];

let nowMs = DAY0 + 30 * MIN;
const now = () => new Date(nowMs);

/** `concurrency` callers in a loop for `seconds`, each consume awaited (it answers after its commit). */
async function measure(s: TRunningServices, subject: (i: number) => string, seconds = SECONDS): Promise<TRate> {
  const lat: number[] = [];
  let denied = 0;
  let i = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const r = await s.admission.consume({ tier: TIER, subject: subject(i++), cost: 1 });
        lat.push(performance.now() - t0);
        if (!r.allowed) denied++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  return {
    rps: lat.length / elapsed,
    p50: lat[Math.floor(lat.length / 2)] ?? NaN,
    p99: lat[Math.floor(lat.length * 0.99)] ?? NaN,
    count: lat.length,
    denied,
  };
}

/** Admits `count` new subjects (offset..offset+count-1), moving the clock across the simulated day as it goes. */
async function load(
  s: TRunningServices,
  offset: number,
  count: number,
  dayFrom: number,
  dayTo: number,
): Promise<TRate> {
  const started = performance.now();
  let denied = 0;
  const WAVE = 2_000;
  for (let done = 0; done < count; done += WAVE) {
    nowMs = DAY0 + Math.floor(dayFrom + ((dayTo - dayFrom) * done) / count);
    const n = Math.min(WAVE, count - done);
    const results = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        s.admission.consume({ tier: TIER, subject: `s-${offset + done + k}`, cost: 1 }),
      ),
    );
    denied += results.filter((r) => !r.allowed).length;
  }
  const elapsed = (performance.now() - started) / 1000;
  return { rps: count / elapsed, p50: NaN, p99: NaN, count, denied };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run through bench/lib/run-bundled.mjs (node --expose-gc): RSS after a GC needs global.gc');

/** The highest RSS seen since the last reset, sampled every 50 ms (and at each read). */
const peak = {
  max: 0,
  reset: () => (peak.max = process.memoryUsage.rss()),
  read: () => Math.max(peak.max, process.memoryUsage.rss()),
};
setInterval(() => (peak.max = Math.max(peak.max, process.memoryUsage.rss())), 50).unref();

/**
 * RSS once the garbage is gone: a full GC, a pause, another. Why two: V8 sweeps and gives pages back
 * to the system concurrently after a collection, so a read right after one GC counted 100-150 MB of
 * heap still being released (measured: 397 MB right after, 256 MB a moment later, same state).
 */
async function rssNow(): Promise<{ text: string; bytes: number }> {
  const top = peak.read();
  gc!();
  await new Promise((r) => setTimeout(r, 250));
  gc!();
  await new Promise((r) => setTimeout(r, 250));
  const m = process.memoryUsage();
  return {
    text: `${mb(m.rss)} after GC (heap ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)}); peak ${mb(top)}`,
    bytes: m.rss,
  };
}

async function sqliteSize(t: TTestDb): Promise<{ text: string; file: number }> {
  const q = async (pragma: string) =>
    Number(Object.values(((await t.db.$queryRawUnsafe(`PRAGMA ${pragma}`)) as Record<string, unknown>[])[0]!)[0]);
  const pageSize = await q('page_size');
  const pages = await q('page_count');
  const free = await q('freelist_count');
  const file = t.config.provider === 'sqlite' ? t.config.file : '';
  const wal = existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0;
  const fileSize = statSync(file).size;
  return {
    text: `pages ${mb(pages * pageSize)} (free ${mb(free * pageSize)}); file ${mb(fileSize)} + WAL ${mb(wal)}`,
    file: fileSize,
  };
}

async function pgSize(t: TTestDb): Promise<{ text: string; file: number }> {
  const r = (await t.db.$queryRawUnsafe(
    `SELECT pg_total_relation_size('"QuotaCounter"')::bigint AS counters, pg_database_size(current_database())::bigint AS db`,
  )) as { counters: bigint; db: bigint }[];
  return {
    text: `QuotaCounter ${mb(Number(r[0]!.counters))}; database ${mb(Number(r[0]!.db))}`,
    file: Number(r[0]!.db),
  };
}

async function counterRows(s: TRunningServices): Promise<string> {
  return (await s.admission.store.size()).counterRows.toLocaleString('en-US');
}

/** A migrated SQLite file like createTestDb's, migrated in a child process (see the top). */
async function createSqliteDb(): Promise<TTestDb> {
  const dir = mkdtempSync(join(tmpdir(), 'coolant-scale-'));
  const config = resolveDbConfig({ databaseUrl: `file:${join(dir, 'test.db')}`, dataDir: dir });
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, COOLANT_BENCH_MIGRATE: JSON.stringify(config) },
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrations exited ${code}`))));
  });
  const db = createPrismaClient(config);
  await tuneSqlite(db, config);
  return {
    db,
    config,
    async cleanup() {
      await db.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function run(provider: TDbProvider): Promise<void> {
  nowMs = DAY0 + 30 * MIN;
  gc!();
  peak.reset();
  const t = provider === 'sqlite' ? await createSqliteDb() : await createTestDb(provider);
  const s = await startServices({
    db: t.db,
    dbConfig: t.config,
    version: 'bench',
    enrollmentSecret: () => ensureEnrollmentSecret({ db: t.db }),
    background: false,
    now,
  });
  const size = provider === 'sqlite' ? () => sqliteSize(t) : () => pgSize(t);
  const target = Number(provider === 'sqlite' ? values.subjects : values['pg-subjects']);
  try {
    // The tier and its day limit, through the same config path the API uses.
    await s.config.mutate(async (tx) => {
      const tier = await tx.tier.create({ data: { name: TIER, failMode: 'closed' } });
      await tx.tierLimit.create({ data: { tierId: tier.id, window: 'day', limit: DAY_LIMIT, updatedBy: 'bench' } });
    });
    const tierId = s.config.current.tiers.get(TIER)!.id;

    await load(s, 0, SMALL, 30 * MIN, 31 * MIN);
    // Warm-up (JIT, connection pool), not reported.
    await measure(s, (i) => `s-${i % SMALL}`, 1);
    const small = await measure(s, (i) => `s-${i % SMALL}`);
    const smallRss = await rssNow();
    rows.push({
      db: provider,
      phase: 'small table',
      subjects: SMALL.toLocaleString('en-US'),
      rows: await counterRows(s),
      r: small,
      size: (await size()).text,
      rss: smallRss.text,
    });

    let loaded: TRate;
    let note: string;
    if (provider === 'sqlite') {
      loaded = await load(s, SMALL, target - SMALL, 31 * MIN, 23 * 60 * MIN);
      note = `loaded through consume at ${Math.round(loaded.rps).toLocaleString('en-US')}/s`;
    } else {
      // One transaction per decision on PostgreSQL: admit a slice through consume (its rate is
      // reported), insert the rest of the day's counters in one statement.
      const viaConsume = Math.min(Number(values['pg-consume-load']), target - SMALL);
      loaded = await load(s, SMALL, viaConsume, 31 * MIN, 12 * 60 * MIN);
      const rest = target - SMALL - viaConsume;
      const t0 = performance.now();
      if (rest > 0) {
        await t.db.$executeRawUnsafe(
          `INSERT INTO "QuotaCounter" ("tierId","window","subject","windowStartMin","used") SELECT $1, 'day', 's-' || g, $2, 1 FROM generate_series($3::int, $4::int) g`,
          tierId,
          Math.floor(DAY0 / MIN),
          SMALL + viaConsume,
          target - 1,
        );
      }
      nowMs = DAY0 + 23 * 60 * MIN;
      note = `${viaConsume.toLocaleString('en-US')} through consume at ${Math.round(loaded.rps).toLocaleString('en-US')}/s, ${rest.toLocaleString('en-US')} by INSERT…SELECT (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
      await t.db.$executeRawUnsafe('ANALYZE "QuotaCounter"');
    }
    // With a profiling preload that starts/stops on SIGUSR2 (PROF_DIR set), profile this measurement.
    if (process.env.PROF_DIR) process.kill(process.pid, 'SIGUSR2');
    const big = await measure(s, (i) => `s-${(i * 7919) % target}`);
    if (process.env.PROF_DIR) process.kill(process.pid, 'SIGUSR2');
    const rss = await rssNow();
    const growth = `${rss.bytes >= smallRss.bytes ? '+' : ''}${mb(rss.bytes - smallRss.bytes)} over the small table`;
    const store = s.admission.store as { resident?: () => { counters: number } };
    if (store.resident) note += `; ${store.resident().counters.toLocaleString('en-US')} counters resident`;
    const before = await size();
    rows.push({
      db: provider,
      phase: `end of day, ${target.toLocaleString('en-US')} subjects`,
      subjects: target.toLocaleString('en-US'),
      rows: await counterRows(s),
      r: big,
      size: before.text,
      note,
      rss: `${rss.text}; ${growth}`,
    });

    // Roll over: the next day starts; the ended day's counters are still stored until pruned.
    nowMs = DAY0 + 24 * 60 * MIN + MIN;
    const rolled = await measure(s, (i) => `s-${(i * 7919) % target}`);
    rows.push({
      db: provider,
      phase: 'next day, before prune',
      subjects: target.toLocaleString('en-US'),
      rows: await counterRows(s),
      r: rolled,
      size: (await size()).text,
    });

    const p0 = performance.now();
    const pruned = await s.admission.store.prune(now());
    const pruneSeconds = (performance.now() - p0) / 1000;
    const afterPrune = await size();
    const after = await measure(s, (i) => `s-${(i * 7919) % target}`);
    let compacted = '';
    if (provider === 'sqlite') {
      await t.db.$queryRawUnsafe('PRAGMA wal_checkpoint(TRUNCATE)');
      await t.db.$executeRawUnsafe('VACUUM');
      await t.db.$queryRawUnsafe('PRAGMA wal_checkpoint(TRUNCATE)');
      compacted = `; after VACUUM: ${(await size()).text}`;
    } else {
      await t.db.$executeRawUnsafe('VACUUM FULL "QuotaCounter"');
      compacted = `; after VACUUM FULL: ${(await size()).text}`;
    }
    rows.push({
      db: provider,
      phase: 'next day, after prune',
      subjects: target.toLocaleString('en-US'),
      rows: await counterRows(s),
      r: after,
      size: `${afterPrune.text}${compacted}`,
      note: `prune deleted ${pruned.counters.toLocaleString('en-US')} counters in ${pruneSeconds.toFixed(1)} s`,
    });
    for (const r of rows.filter((x) => x.db === provider))
      if (r.r) r.note = `${r.note ? `${r.note}; ` : ''}${(r.r.rps / small.rps).toFixed(2)}x small`;
  } finally {
    await s.stop();
    await t.cleanup();
  }
}

for (const provider of values.db!.split(',') as TDbProvider[]) await run(provider);

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
console.log(
  `\nAdmission at scale, in-process (admission.consume on the service, no HTTP): ${CONCURRENCY} concurrent callers, ${SECONDS} s per measurement, one tier with a day limit, injected clock\n`,
);
console.log(
  '| db | phase | subjects | counter rows | decisions/s | p50 ms | p99 ms | ratio / notes | process RSS | database size |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.db} | ${r.phase} | ${r.subjects} | ${r.rows} | ${r.r ? Math.round(r.r.rps).toLocaleString('en-US') : '-'} | ${r.r ? f(r.r.p50) : '-'} | ${r.r ? f(r.r.p99) : '-'} | ${r.note ?? ''} | ${r.rss ?? ''} | ${r.size ?? ''} |`,
  );
}
process.exit(0);
