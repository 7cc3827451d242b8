// Pause → first denial, over HTTP on 127.0.0.1: p50/p99 over N pauses. (a) one console on SQLite,
// probed by the same instance; (b) two consoles on one PostgreSQL database, pause through A while
// B is probed in a tight loop of admission.consume. Before each pause the tier is resumed and B
// is seen admitting again, so every denial measured belongs to its own pause.
//   npx tsx bench/pause-propagation.ts [--pauses 100] [--probers 2] [--db sqlite,postgresql]
import { parseArgs } from 'node:util';
import { createTestDatabase } from '@coolant/db/testing';
import { call, consume, createTier, gatewayToken, waitFor, waitForConfig } from '../apps/console/test/support/api';
import { startConsole, type TConsoleProcess } from '../apps/console/test/support/console-process';

const { values } = parseArgs({
  options: {
    pauses: { type: 'string', default: '100' },
    probers: { type: 'string', default: '2' },
    db: { type: 'string', default: 'sqlite,postgresql' },
  },
});
const PAUSES = Number(values.pauses);
const PROBERS = Number(values.probers);
const TIER = 'drill';

type TStats = { p50: number; p99: number; max: number; min: number };
type TRow = {
  scenario: string;
  pauses: number;
  ack: TStats;
  denial: TStats;
  afterAck: TStats;
  probes: number;
  note: string;
};
const rows: TRow[] = [];

function stats(xs: number[]): TStats {
  const s = [...xs].sort((a, b) => a - b);
  return {
    p50: s[Math.floor(s.length / 2)]!,
    p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]!,
    max: s.at(-1)!,
    min: s[0]!,
  };
}

async function drill(scenario: string, control: TConsoleProcess, probed: TConsoleProcess, note: string): Promise<void> {
  const gw = await gatewayToken(control.url, control.adminToken, `bench ${scenario}`);
  const version = await createTier(control.url, control.adminToken, TIER, {});
  await waitForConfig([control.url, probed.url], version);
  const ack: number[] = [];
  const denial: number[] = [];
  const afterAck: number[] = [];
  let probes = 0;
  for (let i = 0; i < PAUSES; i++) {
    if (i > 0) {
      await call(control.url, 'tiers.resume', { tier: TIER, reason: 'bench' }, control.adminToken);
      await waitFor(
        'the probed instance to admit again',
        async () => (await consume(probed.url, gw, { tier: TIER, subject: 'probe' })).data?.allowed,
        10_000,
        0,
      );
    }
    let deniedAt = 0;
    const t0 = performance.now();
    // Probers start before the pause is sent and stop at the first tier_paused answer (any prober).
    const probing = Promise.all(
      Array.from({ length: PROBERS }, async () => {
        while (!deniedAt && performance.now() - t0 < 10_000) {
          const r = await consume(probed.url, gw, { tier: TIER, subject: `probe-${i}` });
          probes++;
          if (r.data?.reason === 'tier_paused' && !deniedAt) deniedAt = performance.now();
        }
      }),
    );
    await call(control.url, 'tiers.pause', { tier: TIER, reason: `bench pause ${i}` }, control.adminToken);
    const ackAt = performance.now();
    await probing;
    if (!deniedAt) throw new Error(`pause ${i}: no tier_paused answer from ${probed.url} within 10 s`);
    ack.push(ackAt - t0);
    denial.push(deniedAt - t0);
    afterAck.push(deniedAt - ackAt);
  }
  rows.push({
    scenario,
    pauses: PAUSES,
    ack: stats(ack),
    denial: stats(denial),
    afterAck: stats(afterAck),
    probes,
    note,
  });
}

for (const db of values.db!.split(',')) {
  if (db === 'sqlite') {
    const c = await startConsole();
    try {
      await drill('(a) one instance, SQLite', c, c, 'pause and probes on the same console');
    } finally {
      await c.stop();
    }
  } else {
    const pg = await createTestDatabase('coolant_bench_pause');
    const a = await startConsole({ databaseUrl: pg.url });
    const b = await startConsole({ databaseUrl: pg.url });
    try {
      await drill(
        '(b) two instances, PostgreSQL',
        a,
        b,
        'pause through A, probes on B (LISTEN/NOTIFY, 1 s poll backstop)',
      );
    } finally {
      await a.stop();
      await b.stop();
      await pg.drop();
    }
  }
}

const f = (n: number) => (n < 0 ? `${n.toFixed(1)}` : n.toFixed(1));
console.log(
  `\nPause → first denial over HTTP on 127.0.0.1: ${PAUSES} pauses per row, ${PROBERS} probers in a tight loop of admission.consume; times from sending tiers.pause (ms)\n`,
);
console.log(
  '| scenario | pauses | pause acknowledged p50 / p99 | first denial p50 / p99 / max | first denial after the ack p50 / p99 (negative: before the ack) | probes | note |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.scenario} | ${r.pauses} | ${f(r.ack.p50)} / ${f(r.ack.p99)} | ${f(r.denial.p50)} / ${f(r.denial.p99)} / ${f(r.denial.max)} | ${f(r.afterAck.p50)} / ${f(r.afterAck.p99)} | ${r.probes.toLocaleString('en-US')} | ${r.note} |`,
  );
}
process.exit(0);
