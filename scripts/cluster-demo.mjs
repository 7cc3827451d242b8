#!/usr/bin/env node
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
// Options: --port 8080  --nodes 6  --gpus 8
//          --duration SECONDS  stop by itself after that long (default: run until Ctrl-C)
//          --verbose           the simulated agents' logs in the terminal too (else in a file)
//          --check             once up, check the cluster (both instances answer through nginx,
//                              the fleet reports, a pause on console-1 denies on console-2, then
//                              resume); with --duration, the exit status says whether it held
// Ctrl-C stops everything: the fleet, nginx, both consoles; the temp dir goes, the database stays.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DB_NAME = 'coolant_demo';

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

function fail(message) {
  console.error(`cluster:demo: ${message}`);
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Children: each one's output is prefixed with its name; all of them die with this process.
// Each runs in its own process group, so Ctrl-C reaches only this script, which stops them in
// order, and a straggler can be killed with everything it started (next server, agents).

const children = [];
let stopping = false;

/** Output lines for which `route.match(line)` is true go to `route.write` instead of the terminal. */
function startChild(name, command, args, options = {}, route = null) {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  const entry = {
    name,
    child,
    exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))),
    lastLines: [],
  };
  const echo = (stream, write) =>
    createInterface({ input: stream }).on('line', (line) => {
      entry.lastLines.push(line);
      if (entry.lastLines.length > 30) entry.lastLines.shift();
      if (route?.match(line)) route.write(`${line}\n`);
      else write(`[${name}] ${line}`);
    });
  echo(child.stdout, console.log);
  echo(child.stderr, console.error);
  child.on('error', (error) => console.error(`[${name}] ${error.message}`));
  child.once('exit', (code, signal) => {
    if (stopping || entry.expectExit) return;
    const how = signal ?? `exit ${code}`;
    // Stopping one instance is part of the demo: nginx sends everything to the other one.
    const consolesLeft = children.filter((e) => e.name.startsWith('console-') && running(e)).length;
    if (name.startsWith('console-') && consolesLeft > 0) {
      console.log(
        `cluster:demo: ${name} stopped (${how}); ${consolesLeft} instance left${lbUrlForLog ? `, ${lbUrlForLog} still answers through it` : ''}`,
      );
      return;
    }
    console.error(`cluster:demo: ${name} exited (${how}); stopping everything`);
    void shutdown(1);
  });
  children.push(entry);
  return entry;
}

const running = (entry) => entry.child.exitCode === null && entry.child.signalCode === null;

/** The child and whatever it started (its process group). */
function killGroup(entry, signal) {
  try {
    process.kill(-entry.child.pid, signal);
  } catch {
    // Already gone.
  }
}

// Whatever ends this process (short of SIGKILL), no console, agent or nginx outlives it.
process.on('exit', () => {
  for (const e of children) killGroup(e, 'SIGKILL');
});

let exitCode = 0;
let lbUrlForLog = null;
let tmp = null;

async function shutdown(code = 0, why = '') {
  exitCode = Math.max(exitCode, code);
  if (stopping) return;
  stopping = true;
  console.log(`\ncluster:demo: stopping${why ? ` (${why})` : ''}: fleet, nginx, consoles…`);
  // The fleet first, so its agents do not log errors about consoles going away; nginx last but
  // one, consoles last (each stops its HTTP server, background services and database pool).
  const order = ['fleet-sim', 'nginx', 'console-2', 'console-1'];
  const byOrder = [...children].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  for (const e of byOrder) {
    if (!running(e)) continue;
    // nginx: SIGQUIT is its graceful stop (finish the requests in flight, then exit).
    e.child.kill(e.name === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
    const done = await Promise.race([
      e.exited.then(() => true),
      sleep(e.name.startsWith('console') ? 15_000 : 8_000).then(() => false),
    ]);
    if (!done) {
      console.error(`cluster:demo: ${e.name} did not stop in time; killing it`);
      killGroup(e, 'SIGKILL');
      await e.exited;
    }
    // Whatever it started and left behind (an agent's collector child, say) goes with it.
    killGroup(e, 'SIGKILL');
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  console.log(`cluster:demo: stopped. The database ${DB_NAME} is kept (the next run recreates it).`);
  process.exit(exitCode);
}

let interrupts = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    // A second Ctrl-C does not wait for anyone.
    if (++interrupts > 1) process.exit(130);
    void shutdown(0, sig);
  });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: the tests' helper (TypeScript, through tsx) starts the cluster and the role.

async function createDemoDatabase() {
  const { tsImport } = await import('tsx/esm/api');
  const { ensurePostgres, postgresUnavailableReason } = await tsImport(
    pathToFileURL(join(root, 'packages/db/src/testing/postgres.ts')).href,
    import.meta.url,
  );
  const reason = postgresUnavailableReason();
  if (reason) throw new Error(reason);
  const adminUrl = await ensurePostgres();
  const pg = createRequire(join(root, 'packages/db/package.json'))('pg');
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

// ---------------------------------------------------------------------------------------------
// Ports and HTTP.

function portFree(port) {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

async function pickPort(preferred) {
  if (await portFree(preferred)) return preferred;
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function get(url, headers = {}) {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  return { status: r.status, headers: r.headers, body: await r.json().catch(() => null) };
}

async function trpc(base, path, input, token, method = 'POST') {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const r =
    method === 'GET'
      ? await fetch(
          `${base}/api/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`,
          { headers, signal: AbortSignal.timeout(5000) },
        )
      : await fetch(`${base}/api/trpc/${path}`, {
          method,
          headers,
          body: JSON.stringify(input ?? null),
          signal: AbortSignal.timeout(5000),
        });
  const json = await r.json();
  if (json.error) throw new Error(`${path}: ${json.error.message}`);
  return json.result.data;
}

async function waitHealthy(entry, url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!running(entry))
      throw new Error(`${entry.name} exited before it answered /api/health:\n${entry.lastLines.join('\n')}`);
    try {
      const r = await get(`${url}/api/health`);
      if (r.status === 200) return r.body;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline)
      throw new Error(`${entry.name} did not answer ${url}/api/health within ${timeoutMs / 1000}s`);
    await sleep(300);
  }
}

// ---------------------------------------------------------------------------------------------
// nginx, in the foreground, everything it writes under its own prefix directory.

function nginxVersion() {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return /nginx\/(\S+)/.exec(`${r.stderr}${r.stdout}`)?.[1] ?? 'unknown';
}

function nginxConfig({ prefix, port, upstreams }) {
  const temp = (name) => join(prefix, 'temp', name);
  return `# Written by scripts/cluster-demo.mjs; deploy/nginx/coolant.conf is the production example (TLS).
worker_processes 1;
error_log stderr warn;

events {
    worker_connections 512;
}

http {
    access_log off;
    client_body_temp_path ${temp('body')};
    proxy_temp_path ${temp('proxy')};
    fastcgi_temp_path ${temp('fastcgi')};
    uwsgi_temp_path ${temp('uwsgi')};
    scgi_temp_path ${temp('scgi')};

    upstream coolant_console {
        # Sessions live in the database: any instance serves any request.
        least_conn;
${upstreams.map((u) => `        server ${u} max_fails=3 fail_timeout=10s;`).join('\n')}
        keepalive 16;
    }

    server {
        listen 127.0.0.1:${port};
        client_max_body_size 4m;

        location / {
            proxy_pass http://coolant_console;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_connect_timeout 5s;
            proxy_next_upstream error timeout http_502 http_503;
            # Which instance answered: the demo's check (and curl -i) read it.
            add_header X-Coolant-Upstream $upstream_addr always;
        }
    }
}
`;
}

/** nginx on the port, or the reason it is not there. */
async function startNginx(upstreams) {
  const version = nginxVersion();
  if (!version) return { error: 'nginx is not installed (Debian: apt-get install -y nginx-light)' };
  if (!(await portFree(lbPort))) return { error: `port ${lbPort} is in use (pass --port)` };
  const prefix = join(tmp, 'nginx');
  mkdirSync(join(prefix, 'temp'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig({ prefix, port: lbPort, upstreams }));
  // -e stderr (nginx >= 1.19.5): errors before the config is read go to our output, not to a
  // compiled-in log file we may not be allowed to open.
  const [major, minor, patch] = version.split('.').map(Number);
  const hasE = major > 1 || (major === 1 && (minor > 19 || (minor === 19 && patch >= 5)));
  const args = [
    '-p',
    prefix,
    '-c',
    conf,
    ...(hasE ? ['-e', 'stderr'] : []),
    '-g',
    `daemon off; pid ${join(prefix, 'nginx.pid')};`,
  ];
  const entry = startChild('nginx', 'nginx', args);
  // Until it answers, an exit means "no nginx", not "stop the demo".
  entry.expectExit = true;
  const url = `http://127.0.0.1:${lbPort}`;
  try {
    await waitHealthy(entry, url, 10_000);
    entry.expectExit = false;
  } catch (error) {
    if (running(entry)) killGroup(entry, 'SIGKILL');
    return {
      error: `nginx ${version} could not start: ${error.message.split('\n').slice(1).join(' ').trim() || error.message}`,
    };
  }
  return { url, version, entry };
}

// ---------------------------------------------------------------------------------------------
// The check (--check): what the README promises about several instances, on this cluster.

async function check({ lbUrl, urls, token, nodes }) {
  const results = [];
  const record = (ok, what) => {
    results.push(ok);
    console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  };
  console.log('\ncluster:demo: checking the cluster');

  if (lbUrl) {
    const seen = new Map();
    for (let i = 0; i < 8; i++) {
      const r = await get(`${lbUrl}/api/health`);
      const upstream = r.headers.get('x-coolant-upstream') ?? '?';
      seen.set(upstream, (seen.get(upstream) ?? 0) + (r.status === 200 ? 1 : 0));
    }
    const answered = [...seen].map(([u, n]) => `${u} ×${n}`).join(', ');
    record(
      urls.every((u) => (seen.get(new URL(u).host) ?? 0) > 0),
      `both instances answer /api/health through nginx (${answered})`,
    );
  }

  // The fleet reports to console-1; console-2 sees it in the shared database.
  let summary = null;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(1000)) {
    summary = (await trpc(urls[1], 'fleet.list', undefined, token, 'GET')).summary;
    if (summary.online >= nodes) break;
  }
  record(
    summary?.online >= nodes,
    `console-2 sees the fleet that reports to console-1: ${summary?.online ?? 0}/${nodes} nodes online, ${summary?.gpus ?? 0} GPUs`,
  );

  const pausedAt = Date.now();
  await trpc(urls[0], 'tiers.pause', { tier: 'free', reason: 'cluster:demo --check' }, token);
  let decision = null;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(100)) {
    decision = await trpc(urls[1], 'admission.consume', { tier: 'free', subject: 'cluster-demo-check' }, token);
    if (decision.reason === 'tier_paused') break;
  }
  record(
    decision?.reason === 'tier_paused',
    `paused free on console-1; console-2 answers admission.consume with allowed=${decision?.allowed} reason=${decision?.reason} after ${Date.now() - pausedAt} ms`,
  );
  const propagation =
    (await trpc(urls[1], 'tiers.list', undefined, token, 'GET')).tiers.find((t) => t.name === 'free')?.pause
      ?.propagation ?? null;
  if (propagation) {
    const applied = propagation.instances.filter((i) => i.appliedAt).length;
    console.log(`       tiers.list: the pause is applied by ${applied} of ${propagation.instances.length} instances`);
  }
  await trpc(urls[0], 'tiers.resume', { tier: 'free', reason: 'cluster:demo --check done' }, token);
  const after = await trpc(urls[1], 'tiers.list', undefined, token, 'GET');
  const free = after.tiers.find((t) => t.name === 'free');
  record(after.instances.length === 2, `tiers.list shows ${after.instances.length} live console instances`);
  record(free && !free.paused, 'resumed free on console-1; tiers.list on console-2 shows it unpaused');
  return results.every(Boolean);
}

// ---------------------------------------------------------------------------------------------

tmp = mkdtempSync(join(tmpdir(), 'coolant-cluster-demo-'));
// nginx's workers run as an unprivileged user when started as root: they must reach their temp dir.
chmodSync(tmp, 0o755);

const secret = (prefix, bytes) => `${prefix}${randomBytes(bytes).toString('base64url')}`;
const enrollToken = secret('demo-enroll-', 18);
const adminToken = secret('demo-admin-', 24);
const adminPassword = secret('demo-', 9);

let databaseUrl;
try {
  databaseUrl = await createDemoDatabase();
} catch (error) {
  console.error(`cluster:demo: PostgreSQL: ${error.message}`);
  rmSync(tmp, { recursive: true, force: true });
  process.exit(1);
}
console.log(`cluster:demo: database ${databaseUrl.replace(/:[^:@/]*@/, ':***@')} (created fresh)`);

const instancePorts = [await pickPort(3001)];
instancePorts.push(await pickPort(instancePorts[0] === 3001 ? 3002 : 0));
const urls = instancePorts.map((p) => `http://127.0.0.1:${p}`);
const consoles = [];
try {
  // One after the other: the first start applies the migrations, and two runners on one empty
  // database would race (start.mjs also builds the console once, if it is stale).
  for (const [i, port] of instancePorts.entries()) {
    const name = `console-${i + 1}`;
    const dataDir = join(tmp, name);
    mkdirSync(dataDir, { mode: 0o700 });
    const entry = startChild(name, process.execPath, [join(root, 'scripts/start.mjs')], {
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
    });
    consoles.push(entry);
    // A first start may build the console (minutes on a small machine).
    await waitHealthy(entry, urls[i], 15 * 60_000);
  }
} catch (error) {
  console.error(`cluster:demo: ${error.message}`);
  await shutdown(1);
}

const lb = await startNginx(instancePorts.map((p) => `127.0.0.1:${p}`));
if (lb.error) console.log(`cluster:demo: ${lb.error}; use the two instances directly (no load balancer).`);

// The agents log every collector hiccup (the simulator has hot and flaky nodes on purpose): to a
// file, unless --verbose, so the terminal stays readable.
const fleetLog = join(tmp, 'fleet.log');
const fleetLogStream = createWriteStream(fleetLog);
startChild(
  'fleet-sim',
  process.execPath,
  [
    join(root, 'scripts/fleet-sim/fleet-sim.mjs'),
    ...[
      '--nodes',
      String(nodes),
      '--gpus',
      String(gpus),
      '--server',
      urls[0],
      '--enroll-token',
      enrollToken,
      '--dir',
      join(tmp, 'fleet'),
    ],
  ],
  {},
  opts.verbose ? null : { match: (line) => line.startsWith('[sim-'), write: (text) => fleetLogStream.write(text) },
);

lbUrlForLog = lb.url ?? null;
const main = lb.url ?? urls[0];
const env = (url) => `COOLANT_URL=${url} COOLANT_TOKEN=${adminToken}`;
console.log(`
Coolant cluster demo: 2 consoles on PostgreSQL ${DB_NAME}${lb.url ? `, nginx ${lb.version} in front` : ''}, ${nodes} simulated node${nodes === 1 ? '' : 's'} × ${gpus} GPUs
${lb.url ? `  ${lb.url}   nginx, least_conn over both instances: open this\n` : ''}  ${urls[0]}   console-1 (the simulated fleet reports here)
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
${lb.url ? `  which instance answered: curl -si ${lb.url}/api/health | grep -i x-coolant-upstream\n  stop one instance (kill -TERM ${consoles[1].child.pid}, console-2) and ${lb.url} keeps answering\n` : ''}  the simulated agents' logs: tail -f ${fleetLog}${opts.verbose ? ' (and here, --verbose)' : ''}
  more agents: npm run fleet:sim -- --nodes 20 --server ${main} --enroll-token ${enrollToken} --prefix more
${duration ? `Stops by itself after ${duration}s; Ctrl-C stops it sooner.` : 'Ctrl-C stops everything.'}
`);

if (opts.check) {
  let ok = false;
  try {
    ok = await check({ lbUrl: lb.url ?? null, urls, token: adminToken, nodes });
  } catch (error) {
    console.error(`cluster:demo: check failed: ${error.message}`);
  }
  console.log(`cluster:demo: check ${ok ? 'passed' : 'FAILED'}\n`);
  if (!ok) exitCode = 1;
}

if (duration) setTimeout(() => void shutdown(exitCode, `--duration ${duration}s`), duration * 1000);
