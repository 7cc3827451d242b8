/**
 * Command line of the light fleet simulation, bundled by scripts/fleet-sim/build-light.mjs into
 * dist/fleet-sim/light-fleet.mjs and started with plain node by `npm run fleet:sim -- --light`.
 * This is the one place of the light mode that touches the process: signals, exit code, stdout.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { useEmbeddedWeights } from '@coolant/generator';
import weights from '../../../../packages/generator/model/weights.bin';
import { startLightFleet } from './light-fleet';

// Smoke jobs are drawn in this process; the bundle carries the weights as the packaged agent does.
useEmbeddedWeights(weights);

const USAGE = `fleet:sim --light: many simulated agents in one process

  --server URL          console (env COOLANT_URL; default http://127.0.0.1:3000)
  --enroll-token T      enrollment secret (env COOLANT_ENROLL_TOKEN)
  --nodes N             simulated nodes, 1..5000 (default 10)
  --gpus N              GPUs per node, 0..64 (default 8)
  --interval S          seconds between reports (default 5)
  --hot N               nodes that run >= 85 °C (default nodes/10, at least 1)
  --flaky N             nodes that lose a GPU now and then (default 1)
  --prefix P            hostnames P-001... (default sim)
  --job-nodes N         only the first N nodes long-poll for smoke jobs (default all; each long poll
                        costs the console a query every 250 ms, see the README)
  --state-dir DIR       node tokens and spools, one dir per node (default a new temp dir)
  --no-fsync            spools skip fsync (the real agent fsyncs; see the README for the cost)
  --duration S          stop after S seconds, send what the spools still hold, print a summary
  --verbose             every node's info lines too
`;

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: process.env.COOLANT_URL ?? 'http://127.0.0.1:3000' },
    'enroll-token': { type: 'string', default: process.env.COOLANT_ENROLL_TOKEN },
    nodes: { type: 'string', default: '10' },
    gpus: { type: 'string', default: '8' },
    interval: { type: 'string', default: '5' },
    hot: { type: 'string' },
    flaky: { type: 'string', default: '1' },
    prefix: { type: 'string', default: 'sim' },
    'job-nodes': { type: 'string' },
    'state-dir': { type: 'string' },
    'no-fsync': { type: 'boolean', default: false },
    duration: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    // The process-per-node mode's option; accepted so one command line serves both.
    light: { type: 'boolean', default: true },
  },
});

function fail(message: string): never {
  console.error(`fleet:sim --light: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function integer(name: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer ${min}..${max}, got "${raw}"`);
  return n;
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const nodes = integer('nodes', values.nodes, 1, 5000);
const gpus = integer('gpus', values.gpus, 0, 64);
const interval = Number(values.interval);
if (!(interval >= 1 && interval <= 3600)) fail(`--interval must be 1..3600 seconds, got "${values.interval}"`);
const hot = integer('hot', values.hot ?? String(Math.max(1, Math.round(nodes / 10))), 0, nodes);
const flaky = integer('flaky', values.flaky, 0, nodes - hot);
const jobNodes = integer('job-nodes', values['job-nodes'] ?? String(nodes), 0, nodes);
const duration = values.duration === undefined ? null : Number(values.duration);
if (duration !== null && !(duration > 0))
  fail(`--duration must be a positive number of seconds, got "${values.duration}"`);
if (!values['enroll-token'])
  fail('needs --enroll-token (or COOLANT_ENROLL_TOKEN): the enrollment secret from the Tokens page');
const stateDir = values['state-dir'] ? resolve(values['state-dir']) : mkdtempSync(join(tmpdir(), 'coolant-fleet-sim-'));

const fleet = startLightFleet({
  server: values.server.replace(/\/+$/, ''),
  enrollToken: values['enroll-token'],
  nodes,
  gpus,
  intervalSeconds: interval,
  hot,
  flaky,
  prefix: values.prefix,
  stateDir,
  jobNodes,
  durable: !values['no-fsync'],
  verbose: values.verbose,
  log: (line) => console.error(line),
});
console.log(
  `fleet:sim --light: ${nodes} simulated agents × ${gpus} GPUs in one process (pid ${process.pid}; ${hot} hot, ${flaky} flaky, ${jobNodes === nodes ? 'all' : jobNodes} taking smoke jobs) → ${values.server}, every ~${interval} s; state in ${stateDir}${values['no-fsync'] ? ' (spools without fsync)' : ''}. Ctrl-C to stop.`,
);

// The achieved rate, every 10 s: what the console stored, not what was sampled.
const started = Date.now();
let last = { at: started, delivered: 0 };
const status = setInterval(() => {
  const now = Date.now();
  const delivered = fleet.delivered();
  const rate = ((delivered - last.delivered) * 1000) / (now - last.at);
  const backlog = fleet.collected() - delivered;
  console.log(
    `fleet:sim --light: ${((now - started) / 1000).toFixed(0)} s: ${rate.toFixed(1)} reports/s delivered (${(rate * gpus).toFixed(0)} GPU samples/s; the goal at this size is ${(nodes / interval).toFixed(1)}/s), ${delivered} in all, ${backlog} not yet delivered, ${fleet.failed().length} nodes stopped; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
  );
  last = { at: now, delivered };
}, 10_000);

let stopping = false;
async function stop(drain: boolean): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(status);
  const results = await fleet.stop({ drain });
  const left = results.reduce((s, r) => s + r.leftInSpool, 0);
  const errors = results.filter((r) => r.error);
  const seconds = (Date.now() - started) / 1000;
  const delivered = results.reduce((s, r) => s + r.delivered, 0);
  console.log(
    `fleet:sim --light: stopped after ${seconds.toFixed(1)} s: ${delivered} reports delivered by ${results.filter((r) => r.delivered > 0).length}/${nodes} nodes, ${left} left in spools, ${errors.length} nodes with errors${errors.length ? ` (first: ${errors[0]!.hostname}: ${errors[0]!.error})` : ''}`,
  );
  process.exit(drain && (left > 0 || errors.length > 0) ? 1 : 0);
}
process.on('SIGINT', () => void stop(false));
process.on('SIGTERM', () => void stop(false));
if (duration !== null) setTimeout(() => void stop(true), duration * 1000);
