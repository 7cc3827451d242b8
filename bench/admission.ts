// Admission over HTTP: Coolant's admission.consume against the anchor (bare
// node:http + rate-limiter-flexible on the same database), same load
// generator, each server in its own process. Prints a table with the ratio.
//   npx tsx bench/admission.ts [--seconds 8] [--clients 16] [--db sqlite,postgresql]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase } from '@coolant/db/testing';
import { freePort, startConsole, trpc } from '../apps/console/test/support/console-process';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    clients: { type: 'string', default: '16' },
    db: { type: 'string', default: 'sqlite,postgresql' },
    subjects: { type: 'string', default: '10000' },
  },
});
const HERE = import.meta.dirname;
type TResult = { rps: number; p50: number; p99: number; count: number; statuses: Record<string, number> };

function load(url: string, token?: string, tier = 'bench'): Promise<TResult> {
  return new Promise((res, rej) => {
    const child = spawn(
      process.execPath,
      [join(HERE, 'lib/load.mjs'), url, values.seconds!, values.clients!, '2', values.subjects!, token ?? '', tier],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? res(JSON.parse(out.trim().split('\n').pop()!) as TResult) : rej(new Error(`load exited ${code}`)),
    );
  });
}

async function startAnchor(
  kind: 'sqlite' | 'postgresql',
  where: string,
  sync: 'normal' | 'full' = 'normal',
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(HERE, 'lib/anchor-server.mjs'), kind, where, String(port), sync], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((res) => child.stdout!.once('data', () => res()));
  return { url: `http://127.0.0.1:${port}/`, child };
}

async function startBare(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const code = `require('http').createServer((q,s)=>{q.resume();q.on('end',()=>{const b='{"allowed":true}';s.writeHead(200,{'content-type':'application/json','content-length':b.length});s.end(b)})}).listen(${port},'127.0.0.1',()=>console.log('ready'))`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res) => child.stdout!.once('data', () => res()));
  return { url: `http://127.0.0.1:${port}/`, child };
}

const rows: { server: string; db: string; r: TResult; anchor?: TResult; durable?: TResult | undefined }[] = [];

const bare = await startBare();
rows.push({ server: 'bare node:http, constant answer', db: '-', r: await load(bare.url) });
bare.child.kill();

for (const db of values.db!.split(',') as ('sqlite' | 'postgresql')[]) {
  const pg = db === 'postgresql' ? await createTestDatabase('coolant_bench') : null;
  const anchorPg = db === 'postgresql' ? await createTestDatabase('coolant_bench_anchor') : null;
  try {
    const anchor = await startAnchor(
      db,
      db === 'sqlite' ? join(mkdtempSync(join(tmpdir(), 'rl-')), 'rl.db') : anchorPg!.url,
    );
    const anchorResult = await load(anchor.url);
    anchor.child.kill();
    rows.push({ server: 'anchor: node:http + rate-limiter-flexible', db, r: anchorResult });
    // The anchor answers before its commit is on disk (synchronous=NORMAL); Coolant answers after
    // an fdatasync. The same anchor syncing every commit shows what durability costs it.
    let durable: TResult | undefined;
    if (db === 'sqlite') {
      const full = await startAnchor(db, join(mkdtempSync(join(tmpdir(), 'rl-')), 'rl.db'), 'full');
      durable = await load(full.url);
      full.child.kill();
      rows.push({ server: 'anchor, synchronous=FULL (durable answers, as Coolant)', db, r: durable });
    }

    const c = await startConsole({ ...(pg ? { databaseUrl: pg.url } : {}) });
    try {
      await trpc(c.url, 'tiers.create', { name: 'bench' }, c.adminToken);
      await trpc(c.url, 'tiers.setLimit', { tier: 'bench', window: 'day', limit: 1_000_000_000 }, c.adminToken);
      const gw = await trpc<{ secret: string }>(
        c.url,
        'tokens.create',
        { name: 'bench gateway', role: 'gateway' },
        c.adminToken,
      );
      const r = await load(`${c.url}/api/trpc/admission.consume`, gw.data.secret);
      rows.push({ server: 'Coolant admission.consume', db, r, anchor: anchorResult, durable });
    } finally {
      await c.stop();
    }
  } finally {
    await pg?.drop();
    await anchorPg?.drop();
  }
}

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
console.log(
  `\nAdmission over HTTP: ${values.clients} keep-alive clients, ${values.seconds} s after a 2 s warm-up, ${values.subjects} subjects, 127.0.0.1\n`,
);
// Issue 11's goals: SQLite >= 1.5x the anchor, >= 5,000/s, p99 <= 10 ms; PostgreSQL >= 1.0x the anchor.
function goal(row: (typeof rows)[number]): string {
  if (!row.anchor) return '';
  const ratio = row.r.rps / row.anchor.rps;
  const checks = row.db === 'sqlite' ? [ratio >= 1.5, row.r.rps >= 5_000, row.r.p99 <= 10] : [ratio >= 1.0];
  const text = row.db === 'sqlite' ? '>= 1.5x, >= 5,000/s, p99 <= 10 ms' : '>= 1.0x';
  return `${text}: ${checks.every(Boolean) ? 'met' : 'NOT met'}`;
}
console.log('| server | db | decisions/s | p50 ms | p99 ms | vs anchor | vs durable anchor | goal | statuses |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  const ratio = row.anchor ? `${(row.r.rps / row.anchor.rps).toFixed(2)}x` : '';
  const durable = row.durable ? `${(row.r.rps / row.durable.rps).toFixed(2)}x` : '';
  console.log(
    `| ${row.server} | ${row.db} | ${Math.round(row.r.rps)} | ${f(row.r.p50)} | ${f(row.r.p99)} | ${ratio} | ${durable} | ${goal(row)} | ${JSON.stringify(row.r.statuses)} |`,
  );
}
console.log(
  `\nload average at the end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (${cpus().length} CPUs): figures from a busy machine are not the product's`,
);
process.exit(0);
