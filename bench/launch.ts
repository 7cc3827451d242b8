// The simulated launch of issue 13 §5: a closed loop on this machine, every decision made by a
// real console (the built one) over HTTP on 127.0.0.1. A light fleet of the agent's own code
// reports simulated GPUs whose utilization and temperature follow the generations the gateways
// placed on them; the gateways ask admission.consume before each generation and obey refusals;
// free demand ramps to 5× the fleet's slots while plus and pro stay at 30 % each; at a set moment
// 30 % of the nodes lose power. The same seeded demand runs against (a) today's mechanisms
// (quotas, pause, the guard armed with a launch-day ladder; capacity disabled, no leases) and
// (b) fleet-aware admission (capacity enabled with shares, a lease per generation). (a) is the
// anchor of (b): same machine, same run, same demand. Time is compressed (generations of a few
// seconds, reports every 2 s, the guard every 2 s over 10 s).
//   npm run launch:sim -- [--seed 7] [--nodes 100] [--gpus 1] [--seconds 100] [--modes a,b] [--paid-reserved 0.33]
//   [--gateway-timeout-ms 15000] (the gateways run @coolant/gateway; its per-attempt timeout)
// (scripts/launch-sim/README.md: the model, and how to read the table)
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { drawArrivals, type TDemandPlan } from '../scripts/launch-sim/demand';
import { DEFAULT_GPU_MODEL } from '../scripts/launch-sim/gpu-fleet';
import { runMode, type TLaunchConfig, type TMode, type TModeResult } from '../scripts/launch-sim/run-mode';
import { launchTable } from '../scripts/launch-sim/table';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '7' },
    nodes: { type: 'string', default: '100' },
    gpus: { type: 'string', default: '1' },
    interval: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '100' },
    ramp: { type: 'string', default: '30' },
    'loss-at': { type: 'string', default: '60' },
    modes: { type: 'string', default: 'a,b' },
    'paid-reserved': { type: 'string', default: '0.33' },
    'free-reserved': { type: 'string', default: '0.05' },
    'gateway-timeout-ms': { type: 'string', default: '15000' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'npm run launch:sim -- [--seed N] [--nodes 10..500] [--gpus 1..8] [--interval 1..5] [--seconds 30..300] [--ramp S] [--loss-at S] [--modes a,b] [--paid-reserved 0.33] [--free-reserved 0.05] [--gateway-timeout-ms 15000]',
  );
  process.exit(0);
}

function num(name: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    console.error(`launch:sim: --${name} must be a number ${min}..${max}, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const nodes = num('nodes', values.nodes, 10, 500);
const gpus = num('gpus', values.gpus, 1, 8);
const seconds = num('seconds', values.seconds, 30, 300);
const modes = values.modes.split(',').map((m) => m.trim());
if (!modes.length || modes.some((m) => m !== 'a' && m !== 'b')) {
  console.error(`launch:sim: --modes takes a, b or a,b; got "${values.modes}"`);
  process.exit(2);
}
const model = DEFAULT_GPU_MODEL;
const paidReserved = num('paid-reserved', values['paid-reserved'], 0, 0.5);
const plan: TDemandPlan = {
  seed: num('seed', values.seed, 0, 2 ** 31),
  slots0: nodes * gpus * model.slotsPerGpu,
  seconds,
  rampSeconds: num('ramp', values.ramp, 1, seconds),
  freePeak: 5,
  paidShare: { plus: 0.3, pro: 0.3 },
  // Long enough that the free peak (5× C0 / 5 s ≈ 200 arrivals/s at 100 nodes) stays within what
  // two shared cores can decide without a queue; short enough that leases turn over many times.
  work: { free: [4, 6], plus: [5, 8], pro: [5, 9] },
  population: { free: 2_000_000, plus: 50_000, pro: 5_000 },
};
const cfg: TLaunchConfig = {
  plan,
  nodes,
  gpusPerNode: gpus,
  intervalSeconds: num('interval', values.interval, 1, 5),
  lossAt: num('loss-at', values['loss-at'], 1, seconds - 5),
  lossShare: 0.3,
  model,
  // Paid reservations a little above their offered load (30 % each), so steady paid demand fits
  // them; what they keep idle is what free cannot borrow (the table's "capacity rule's share").
  shares: [
    { tier: 'pro', priority: 20, reserved: paidReserved },
    { tier: 'plus', priority: 10, reserved: paidReserved },
    { tier: 'free', priority: 0, reserved: num('free-reserved', values['free-reserved'], 0, 1 - 2 * paidReserved) },
  ],
  ttlSeconds: 30,
  maxAttempts: 3,
  maxWaitSeconds: 15,
  gatewayTimeoutMs: num('gateway-timeout-ms', values['gateway-timeout-ms'], 1, 60_000),
  log: (line) => console.error(`launch:sim ${line}`),
};

const la = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const startLoad = la();
const arrivals = drawArrivals(plan);
console.error(
  `launch:sim: seed ${plan.seed}, ${nodes} nodes × ${gpus} GPU × ${model.slotsPerGpu} slots = ${plan.slots0} slots; ${arrivals.length} arrivals; load average at the start ${startLoad} (${cpus().length} CPUs)`,
);
const started = Date.now();
const results: TModeResult[] = [];
const loads: string[] = [];
for (const mode of modes as TMode[]) {
  results.push(await runMode(mode, cfg, arrivals));
  loads.push(`after (${mode}): ${la()}`);
}

const counts = arrivals.reduce<Record<string, number>>((m, a) => ((m[a.tier] = (m[a.tier] ?? 0) + 1), m), {});
console.log(
  `\nSimulated launch, seed ${plan.seed}: ${nodes} nodes × ${gpus} GPU, ${model.slotsPerGpu} safe slots per GPU (hardware limit ${model.maxPerGpu}; ${model.utilPerGeneration} % utilization per generation; hot and throttled from ${model.hotC} °C, thermal time constant ${model.tauSeconds} s), C0 = ${plan.slots0} slots; reports every ~${cfg.intervalSeconds} s.`,
);
console.log(
  `Demand over ${seconds} s: free ramps to ${plan.freePeak}× C0 in ${plan.rampSeconds} s, plus and pro ${plan.paidShare.plus * 100} % of C0 each; arrivals ${Object.entries(
    counts,
  )
    .map(([k, v]) => `${k} ${v}`)
    .join(
      ', ',
    )}; generation lengths free ${plan.work.free.join('–')} s, plus ${plan.work.plus.join('–')} s, pro ${plan.work.pro.join('–')} s. At ${cfg.lossAt} s ${Math.round(cfg.lossShare * 100)} % of the nodes lose power. Gateways (@coolant/gateway, ${cfg.gatewayTimeoutMs} ms per attempt) retry after retryAfterSeconds, at most ${cfg.maxAttempts} attempts within ${cfg.maxWaitSeconds} s.`,
);
console.log(
  `(b)'s shares: ${cfg.shares.map((s) => `${s.tier} priority ${s.priority} reserved ${(s.reserved * 100).toFixed(0)} %`).join(', ')}; lease TTL ${cfg.ttlSeconds} s.\n`,
);
console.log(launchTable(cfg, results));
console.log(
  `\nload average (1, 5, 15 min): at the start ${startLoad}, ${loads.join(', ')}; ${cpus().length} CPUs shared with the console and the simulated fleet; ${((Date.now() - started) / 1000).toFixed(0)} s in all. Figures from a busy machine are not the product's.`,
);
process.exit(0);
