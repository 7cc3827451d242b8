// The guard drill's figures, over HTTP on 127.0.0.1: trigger → decision (by the deciding instance,
// at its next evaluation), → committed, → applied on every live console instance. (a) one console
// on SQLite; (b) two consoles on one PostgreSQL database, the drill asked of the instance that does
// not hold the guard's lease when there is one. Dry drills change nothing (a config version with no
// change is what propagates); live drills pause a tier made for the bench and resume it.
//   npx tsx bench/drill.ts [--drills 5] [--interval 10] [--db sqlite,postgresql]
import { parseArgs } from 'node:util';
import { createTestDatabase } from '@coolant/db/testing';
import { call, createTier } from '../apps/console/test/support/api';
import { startConsole, type TConsoleProcess } from '../apps/console/test/support/console-process';

const { values } = parseArgs({
  options: {
    drills: { type: 'string', default: '5' },
    interval: { type: 'string', default: '10' },
    db: { type: 'string', default: 'sqlite,postgresql' },
  },
});
const DRILLS = Number(values.drills);
const INTERVAL = Number(values.interval);
const TIER = 'drill-bench';

type TDrill = {
  state: string;
  decisionMs: number | null;
  commitMs: number | null;
  propagationMs: number | null;
  applyAfterCommitMs: number | null;
  instances: number | null;
  error: string | null;
};
type TRow = {
  scenario: string;
  kind: string;
  n: number;
  decision: number[];
  commit: number[];
  all: number[];
  after: number[];
  instances: number;
};
const rows: TRow[] = [];

const p = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * q))]! : NaN;
};

async function drills(scenario: string, ask: TConsoleProcess, admin: TConsoleProcess): Promise<void> {
  await call(
    admin.url,
    'guard.update',
    {
      config: {
        ...(await call<{ config: Record<string, unknown> }>(admin.url, 'guard.get', undefined, admin.adminToken, 'GET'))
          .config,
        webhook: null,
        intervalSeconds: INTERVAL,
      },
      reason: 'bench',
    },
    admin.adminToken,
  );
  await createTier(admin.url, admin.adminToken, TIER, {}).catch(() => {});
  for (const live of [false, true]) {
    const row: TRow = {
      scenario,
      kind: live ? `live (pause ${TIER})` : 'dry run',
      n: 0,
      decision: [],
      commit: [],
      all: [],
      after: [],
      instances: 0,
    };
    for (let i = 0; i < DRILLS; i++) {
      // A trigger lands at a random point of the evaluation interval, as a real one would.
      await new Promise((r) => setTimeout(r, Math.random() * INTERVAL * 1000));
      const d = await call<TDrill>(ask.url, 'guard.drill', live ? { live: true, tier: TIER } : {}, ask.adminToken);
      if (d.state !== 'done') {
        console.error(`${scenario}: drill ${d.state}: ${d.error ?? ''}`);
        continue;
      }
      row.n++;
      row.decision.push(d.decisionMs!);
      row.commit.push(d.commitMs!);
      row.all.push(d.propagationMs!);
      row.after.push(d.applyAfterCommitMs!);
      row.instances = d.instances ?? 0;
    }
    rows.push(row);
  }
}

const dbs = values.db.split(',');
if (dbs.includes('sqlite')) {
  const c = await startConsole();
  try {
    await drills('SQLite, 1 console', c, c);
  } finally {
    await c.stop();
  }
}
if (dbs.includes('postgresql')) {
  const pg = await createTestDatabase('coolant_bench_drill');
  const a = await startConsole({ databaseUrl: pg.url });
  const b = await startConsole({ databaseUrl: pg.url });
  try {
    // Ask the instance that does not decide, so the request crosses instances.
    await new Promise((r) => setTimeout(r, 2_000));
    const g = await call<{ leader: { thisInstance: boolean } | null }>(
      a.url,
      'guard.get',
      undefined,
      a.adminToken,
      'GET',
    );
    const ask = g.leader?.thisInstance ? b : a;
    await drills('PostgreSQL, 2 consoles', ask, a);
  } finally {
    await a.stop();
    await b.stop();
    await pg.drop();
  }
}

const f = (x: number) => (Number.isFinite(x) ? `${Math.round(x)}` : '—');
console.log(
  `\nGuard drill, evaluation interval ${INTERVAL} s, ${DRILLS} drills per row (ms from the trigger; p50 / max)\n`,
);
console.log(
  '| scenario | drill | n | instances | → decision | → committed | → applied on every instance | applied after commit |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.scenario} | ${r.kind} | ${r.n} | ${r.instances} | ${f(p(r.decision, 0.5))} / ${f(Math.max(...r.decision))} | ${f(p(r.commit, 0.5))} / ${f(Math.max(...r.commit))} | ${f(p(r.all, 0.5))} / ${f(Math.max(...r.all))} | ${f(p(r.after, 0.5))} / ${f(Math.max(...r.after))} |`,
  );
}
console.log('\nGoal: decision within one evaluation interval; applied on every instance ≤ 1 s after the commit.');
