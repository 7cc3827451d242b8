// `npm run cluster:demo`: two console instances on one PostgreSQL database behind nginx, and a
// simulated fleet, on this machine. What a production deployment looks like (README, "Deploy"),
// minus TLS and systemd:
//
//   PostgreSQL   the local cluster, started like the test suites start it
//                (packages/db/src/testing/postgres.ts); database coolant_demo, recreated each run
//   console-1/2  `node scripts/start.mjs` on 127.0.0.1, separate COOLANT_DATA_DIR, the same
//                COOLANT_ENROLL_TOKEN / COOLANT_ADMIN_TOKEN / COOLANT_ADMIN_PASSWORD
//   nginx        least_conn over both, on --port (8080), run in the foreground as a child with a
//                config in a temp dir; without nginx the instances are used directly
//   fleet:sim    --nodes agents x --gpus simulated GPUs reporting to console-1
//
// TypeScript, so that --check speaks to the consoles through the operators' typed tRPC client
// (check.ts) instead of a fetch helper of its own. It is not run through tsx: scripts/cluster-demo.mjs
// bundles it with the console's esbuild options (scripts/lib/esbuild-options.mjs) into
// dist/cluster-demo/cluster-demo.mjs when a source is newer, and plain node runs that, as
// `npm start` runs the console and `fleet:sim --light` its nodes. The PostgreSQL helper is bundled in
// too, so nothing compiles TypeScript while the demo runs. `npx tsc -p scripts/cluster-demo` checks it.
//
// Options: --port 8080  --nodes 6  --gpus 8
//          --duration SECONDS  stop by itself after that long (default: run until Ctrl-C)
//          --verbose           the simulated agents' logs in the terminal too (else in a file)
//          --check             once up, check the cluster (both instances answer through nginx,
//                              the fleet reports, a pause on console-1 denies on console-2, then
//                              resume); with --duration, the exit status says whether it held
// Ctrl-C stops everything: the fleet, nginx, both consoles; the temp dir goes, the database stays.
import { CONSOLE_NODE_ARGS } from '../lib/console-node-args.mjs';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ensurePostgres, postgresUnavailableReason } from '../../packages/db/src/testing/postgres';
import { type TChild, createSupervisor } from './children';
import { check } from './check';
import { pickPort, waitHealthy } from './http';
import { startNginx } from './nginx';

// Two levels up from scripts/cluster-demo/main.ts and from dist/cluster-demo/cluster-demo.mjs alike.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DB_NAME = 'coolant_demo';

function fail(message: string): never {
  console.error(`cluster:demo: ${message}`);
  process.exit(2);
}

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    nodes: { type: 'string', default: '6' },
    gpus: { type: 'string', default: '8' },
    duration: { type: 'string' },
    check: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log('Usage: npm run cluster:demo [-- --port 8080 --nodes 6 --gpus 8 --duration SECONDS --check --verbose]');
  process.exit(0);
}
const lbPort = Number(opts.port);
const duration = opts.duration === undefined ? null : Number(opts.duration);
if (!Number.isInteger(lbPort) || lbPort < 1 || lbPort > 65535) fail(`--port must be a TCP port, got ${opts.port}`);
if (duration !== null && !(duration > 0)) fail(`--duration must be a number of seconds, got ${opts.duration}`);
const nodes = Number(opts.nodes);
const gpus = Number(opts.gpus);
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 2000) fail(`--nodes must be 1..2000, got ${opts.nodes}`);
if (!Number.isInteger(gpus) || gpus < 0 || gpus > 64) fail(`--gpus must be 0..64, got ${opts.gpus}`);

const supervisor = createSupervisor({ root, dbName: DB_NAME });

/** The demo's database, dropped and created again, on the cluster the test suites use. */
async function createDemoDatabase() {
  const reason = postgresUnavailableReason();
  if (reason) throw new Error(reason);
  const adminUrl = await ensurePostgres();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // FORCE: connections a crashed earlier run left behind would otherwise block the drop.
    await admin.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${DB_NAME}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${DB_NAME}`;
  return url.toString();
}

const tmp = mkdtempSync(join(tmpdir(), 'coolant-cluster-demo-'));
supervisor.state.tmp = tmp;
// nginx's workers run as an unprivileged user when started as root: they must reach their temp dir.
chmodSync(tmp, 0o755);

const secret = (prefix: string, bytes: number) => `${prefix}${randomBytes(bytes).toString('base64url')}`;
const enrollToken = secret('demo-enroll-', 18);
const adminToken = secret('demo-admin-', 24);
const adminPassword = secret('demo-', 9);

let databaseUrl: string;
try {
  databaseUrl = await createDemoDatabase();
} catch (error) {
  console.error(`cluster:demo: PostgreSQL: ${error instanceof Error ? error.message : String(error)}`);
  rmSync(tmp, { recursive: true, force: true });
  process.exit(1);
}
console.log(`cluster:demo: database ${databaseUrl.replace(/:[^:@/]*@/, ':***@')} (created fresh)`);

const port1 = await pickPort(3001);
const port2 = await pickPort(port1 === 3001 ? 3002 : 0);
const instancePorts = [port1, port2];
const urls: [string, string] = [`http://127.0.0.1:${port1}`, `http://127.0.0.1:${port2}`];
const consoles: TChild[] = [];
try {
  // One after the other: the first start applies the migrations, and two runners on one empty
  // database would race (start.mjs also builds the console once, if it is stale).
  for (const [i, port] of instancePorts.entries()) {
    const name = `console-${i + 1}`;
    const dataDir = join(tmp, name);
    mkdirSync(dataDir, { mode: 0o700 });
    const entry = supervisor.startChild(
      name,
      process.execPath,
      [...CONSOLE_NODE_ARGS, join(root, 'scripts/start.mjs')],
      {
        env: {
          ...process.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: databaseUrl,
          COOLANT_DATA_DIR: dataDir,
          COOLANT_LOCAL_AGENT: 'false',
          COOLANT_ENROLL_TOKEN: enrollToken,
          COOLANT_ADMIN_TOKEN: adminToken,
          COOLANT_ADMIN_PASSWORD: adminPassword,
          // nginx sets X-Forwarded-For/-Proto; the instances are reachable only on 127.0.0.1.
          COOLANT_TRUST_PROXY: 'true',
          NODE_ENV: 'production',
        },
      },
    );
    consoles.push(entry);
    // A first start may build the console (minutes on a small machine).
    await waitHealthy(entry, urls[i] ?? '', 15 * 60_000);
  }
} catch (error) {
  console.error(`cluster:demo: ${error instanceof Error ? error.message : String(error)}`);
  await supervisor.shutdown(1);
}

const lb = await startNginx({
  supervisor,
  tmp,
  port: lbPort,
  upstreams: instancePorts.map((p) => `127.0.0.1:${p}`),
});
const lbUrl = 'url' in lb ? lb.url : null;
if ('error' in lb) console.log(`cluster:demo: ${lb.error}; use the two instances directly (no load balancer).`);

// The agents log every collector hiccup (the simulator has hot and flaky nodes on purpose): to a
// file, unless --verbose, so the terminal stays readable.
const fleetLog = join(tmp, 'fleet.log');
const fleetLogStream = createWriteStream(fleetLog);
supervisor.startChild(
  'fleet-sim',
  process.execPath,
  [
    join(root, 'scripts/fleet-sim/fleet-sim.mjs'),
    ...['--nodes', String(nodes), '--gpus', String(gpus), '--server', urls[0]],
    ...['--enroll-token', enrollToken, '--dir', join(tmp, 'fleet')],
  ],
  {},
  opts.verbose ? null : { match: (line) => line.startsWith('[sim-'), write: (text) => void fleetLogStream.write(text) },
);

supervisor.state.lbUrl = lbUrl;
const main = lbUrl ?? urls[0];
const env = (url: string) => `COOLANT_URL=${url} COOLANT_TOKEN=${adminToken}`;
console.log(`
Coolant cluster demo: 2 consoles on PostgreSQL ${DB_NAME}${'version' in lb ? `, nginx ${lb.version} in front` : ''}, ${nodes} simulated node${nodes === 1 ? '' : 's'} × ${gpus} GPUs
${lbUrl ? `  ${lbUrl}   nginx, least_conn over both instances: open this\n` : ''}  ${urls[0]}   console-1 (the simulated fleet reports here)
  ${urls[1]}   console-2
  sign in as admin, password ${adminPassword}
  admin API token    ${adminToken}
  enrollment secret  ${enrollToken}

Try:
  pause free on one instance and watch both deny:
    ${env(urls[0])} npx coolant pause free --reason demo
    ${env(urls[1])} npx coolant consume free alice     # denied: tier_paused
    ${env(main)} npx coolant resume free
  the same decision with curl, on either instance:
    curl -H 'authorization: Bearer ${adminToken}' -H 'content-type: application/json' -d '{"tier":"free","subject":"alice"}' ${urls[1]}/api/trpc/admission.consume
${lbUrl ? `  which instance answered: curl -si ${lbUrl}/api/health | grep -i x-coolant-upstream\n  stop one instance (kill -TERM ${consoles[1]?.child.pid}, console-2) and ${lbUrl} keeps answering\n` : ''}  the simulated agents' logs: tail -f ${fleetLog}${opts.verbose ? ' (and here, --verbose)' : ''}
  more agents: npm run fleet:sim -- --nodes 20 --server ${main} --enroll-token ${enrollToken} --prefix more
${duration ? `Stops by itself after ${duration}s; Ctrl-C stops it sooner.` : 'Ctrl-C stops everything.'}
`);

if (opts.check) {
  let ok = false;
  try {
    ok = await check({ lbUrl, urls, token: adminToken, nodes });
  } catch (error) {
    console.error(`cluster:demo: check failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  console.log(`cluster:demo: check ${ok ? 'passed' : 'FAILED'}\n`);
  if (!ok) supervisor.fail();
}

if (duration)
  setTimeout(() => void supervisor.shutdown(supervisor.exitCode(), `--duration ${duration}s`), duration * 1000);
