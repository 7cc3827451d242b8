#!/usr/bin/env node
// `npm run agent:package`: the agent for GPU hosts, in dist/agent/ (linux-x64):
//
//   coolant-agent      one self-contained executable (Node's single executable application: a
//                      copy of the node binary running this script, with the agent injected),
//                      for hosts without Node
//   coolant-agent.mjs  one bundled ES module, for hosts with Node >= 20
//
// Both are built from apps/agent/src/entry.ts, which picks a process role from
// COOLANT_AGENT_ROLE, so the telemetry collector child is the same file started again.
// Nothing is downloaded to build the executable: its base is process.execPath.
//
// Options:
//   --if-stale      keep the artifacts when build-info.json says they are newer than every input
//   --skip-measure  do not measure start-up time and idle memory (the table then has sizes only);
//                   the measurement starts a real console (scripts/start.mjs, which builds it when stale)
//   --keep-symbols  do not strip the copied node binary (strip saves ~13 MB of symbols)
//   --bundle-only   build coolant-agent.mjs only (what `npm start`'s local agent runs); no executable,
//                   no measurement, and no check that this node can make one
import { CONSOLE_NODE_ARGS } from './lib/console-node-args.mjs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { inputsUnchanged, readBuildRecord, recordedInputs, writeBuildRecord } from './lib/build-record.mjs';
import { agentBundleOptions, loadEsbuild } from './lib/esbuild-options.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist/agent');
const entry = join(root, 'apps/agent/src/entry.ts');
const SEA_PATH = join(outDir, 'coolant-agent');
const BUNDLE_PATH = join(outDir, 'coolant-agent.mjs');
const INFO_PATH = join(outDir, 'build-info.json');
// The fuse Node's binary carries, flipped by postject when a blob is injected (Node's SEA docs).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
// Used through `npm exec` only until postject is a devDependency of the workspace root.
const POSTJECT_FALLBACK = 'postject@1.0.0-alpha.6';

const { values: opts } = parseArgs({
  options: {
    'if-stale': { type: 'boolean', default: false },
    'skip-measure': { type: 'boolean', default: false },
    'keep-symbols': { type: 'boolean', default: false },
    'bundle-only': { type: 'boolean', default: false },
  },
});
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const requireFromRoot = createRequire(join(root, 'package.json'));

function fail(message) {
  console.error(`agent:package: ${message}`);
  process.exit(1);
}

function checkHost() {
  // The executable is a copy of this very node binary, so it can only be built where it runs.
  if (process.platform !== 'linux' || process.arch !== 'x64')
    fail(`builds linux-x64 only and must run there (this is ${process.platform}-${process.arch})`);
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 12))
    fail(`needs Node >= 20.12 for single executables with node:sea (this is ${process.version})`);
  if (!readFileSync(process.execPath).includes(`${SEA_FUSE}:0`)) {
    fail(
      `${process.execPath} has no unused single-executable fuse (${SEA_FUSE}:0); build with an official or distribution node binary, not one that is already an executable application`,
    );
  }
}

/** Fresh when every file esbuild read, this script, the shared options and the node binary are older than the build. */
function isFresh() {
  const info = readBuildRecord(INFO_PATH);
  if (!info || !existsSync(BUNDLE_PATH)) return false;
  if (info.node !== process.version || info.nodeBinary !== process.execPath || info.version !== version) return false;
  // A bundle-only build leaves any older executable behind: stale for a full package.
  if (!opts['bundle-only'] && (info.bundleOnly || !existsSync(SEA_PATH))) return false;
  return inputsUnchanged(root, info, [
    fileURLToPath(import.meta.url),
    join(root, 'scripts/lib/esbuild-options.mjs'),
    process.execPath,
  ]);
}

async function bundle(esbuild, format, outfile) {
  const result = await esbuild.build({
    // The ES module is run as a script (`./coolant-agent.mjs`); the CommonJS one goes into the executable.
    ...agentBundleOptions({ format, shebang: format === 'esm' }),
    entryPoints: [entry],
    outfile,
  });
  return Object.keys(result.metafile.inputs);
}

async function injectBlob(executable, blob) {
  let postjectPath = null;
  try {
    postjectPath = requireFromRoot.resolve('postject');
  } catch {
    // Not a devDependency yet; fall back below.
  }
  if (postjectPath) {
    const { inject } = await import(pathToFileURL(postjectPath).href);
    await inject(executable, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
    return;
  }
  console.log(
    `postject is not installed in ${root}/node_modules; running ${POSTJECT_FALLBACK} through npm exec (add it as a root devDependency to avoid this)`,
  );
  // Its output is LIEF's warnings about the node binary's many notes; shown only when it fails.
  const r = spawnSync(
    'npm',
    [
      'exec',
      '--yes',
      `--package=${POSTJECT_FALLBACK}`,
      '--',
      'postject',
      executable,
      'NODE_SEA_BLOB',
      blob,
      '--sentinel-fuse',
      SEA_FUSE,
    ],
    {
      cwd: dirname(executable),
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) fail(`postject failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
}

/**
 * `probe --json` on a PATH with nothing on it (no node, no nvidia-smi, no lspci): the artifact must
 * still collect, print a report payload saying nvidia-smi is missing, and exit 3 ("no GPU
 * telemetry"). apps/agent/test/package-probe.test.ts runs it against a fake GPU.
 */
function probeSelfTest(file, args, work) {
  const emptyBin = mkdtempSync(join(work, 'empty-bin-'));
  const command = [file, ...args, 'probe', '--json'].join(' ');
  const r = spawnSync(file, [...args, 'probe', '--json'], {
    encoding: 'utf8',
    env: { PATH: emptyBin, TMPDIR: work },
    timeout: 60_000,
  });
  if (r.status !== 3)
    fail(`${command} with an empty PATH exited ${r.status ?? r.signal}, expected 3:\n${r.stdout}${r.stderr}`);
  let payload;
  try {
    payload = JSON.parse(r.stdout);
  } catch (error) {
    fail(`${command} printed no JSON payload (${error.message}):\n${r.stdout}${r.stderr}`);
  }
  const sample = payload.samples?.[0];
  if (payload.agentVersion !== version || sample?.health?.nvidiaSmi?.status !== 'missing' || sample.gpus?.length !== 0)
    fail(`${command} printed an unexpected payload:\n${r.stdout}`);
  if (!r.stderr.includes('no GPU telemetry: nvidia-smi not found on PATH'))
    fail(`${command} did not say that nvidia-smi is missing:\n${r.stderr}`);
}

function hasStrip() {
  return spawnSync('sh', ['-c', 'command -v strip'], { stdio: 'ignore' }).status === 0;
}

async function build() {
  let esbuild;
  try {
    esbuild = loadEsbuild();
  } catch (error) {
    fail(error.message);
  }
  mkdirSync(outDir, { recursive: true });
  // Without build-info.json the artifacts count as stale, whatever happens below.
  rmSync(INFO_PATH, { force: true });
  // Taken before esbuild reads anything, so a source saved during the build makes the next run rebuild.
  const builtAtMs = Date.now();
  // Beside dist/agent, not in /tmp: the final renames must not cross file systems.
  const work = mkdtempSync(join(root, 'dist', '.agent-package-'));
  try {
    const bundleTmp = join(work, 'coolant-agent.mjs');
    if (opts['bundle-only']) {
      const inputs = recordedInputs(root, await bundle(esbuild, 'esm', bundleTmp));
      chmodSync(bundleTmp, 0o755);
      const out = execFileSync(process.execPath, [bundleTmp, '--version'], { encoding: 'utf8', env: {} }).trim();
      if (out !== version) fail(`${bundleTmp} --version printed "${out}", expected ${version}`);
      renameSync(bundleTmp, BUNDLE_PATH);
      const info = {
        version,
        node: process.version,
        nodeBinary: process.execPath,
        bundleOnly: true,
        builtAtMs,
        inputs,
      };
      writeBuildRecord(INFO_PATH, info);
      return info;
    }
    const cjs = join(work, 'coolant-agent.cjs');
    const [esmInputs, cjsInputs] = await Promise.all([bundle(esbuild, 'esm', bundleTmp), bundle(esbuild, 'cjs', cjs)]);
    chmodSync(bundleTmp, 0o755);

    // The single executable's require() loads Node's builtins only, hence one CommonJS file.
    const blob = join(work, 'sea-prep.blob');
    const seaConfig = join(work, 'sea-config.json');
    writeFileSync(
      seaConfig,
      JSON.stringify({ main: cjs, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }),
    );
    const prep = spawnSync(process.execPath, ['--experimental-sea-config', seaConfig], { cwd: work, encoding: 'utf8' });
    if (prep.status !== 0) fail(`node --experimental-sea-config failed:\n${prep.stdout}${prep.stderr}`);

    const exe = join(work, 'coolant-agent');
    const stripped = !opts['keep-symbols'] && hasStrip();
    if (stripped) {
      // Only symbols and debug info go; the dynamic symbol table (native addons, backtraces) stays.
      const r = spawnSync('strip', ['--strip-all', '-o', exe, process.execPath], { encoding: 'utf8' });
      if (r.status !== 0) fail(`strip failed: ${r.stderr}`);
    } else {
      copyFileSync(process.execPath, exe);
    }
    chmodSync(exe, 0o755);
    await injectBlob(exe, blob);

    for (const [file, args] of [
      [exe, ['--version']],
      [process.execPath, [bundleTmp, '--version']],
    ]) {
      const out = execFileSync(file, args, { encoding: 'utf8', env: {} }).trim();
      if (out !== version) fail(`${[file, ...args].join(' ')} printed "${out}", expected ${version}`);
    }
    for (const [file, args] of [
      [exe, []],
      [process.execPath, [bundleTmp]],
    ])
      probeSelfTest(file, args, work);

    // Rename, not copy: a running agent keeps its inode, and the artifacts appear complete or not at all.
    renameSync(exe, SEA_PATH);
    renameSync(bundleTmp, BUNDLE_PATH);
    const inputs = recordedInputs(root, esmInputs, cjsInputs);
    const info = { version, node: process.version, nodeBinary: process.execPath, stripped, builtAtMs, inputs };
    writeBuildRecord(INFO_PATH, info);
    return info;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements: start-up time, and memory at idle once a real console (scripts/start.mjs, on
// 127.0.0.1, its own temp data dir, no local agent) has stored the agent's first report.

function startupMs(command, args, runs = 7) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(command, args, { stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 0) fail(`${command} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  }
  times.sort((a, b) => a - b);
  return { best: times[0], median: times[Math.floor(times.length / 2)] };
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/**
 * A real console, started the way apps/console/test/support/console-process.ts starts one (which
 * builds what is stale first): the self-test then sees the console's real answers, so the agent
 * leaves its drain loop as it does in production and "idle" means idle.
 */
async function startRealConsole(attempt = 1) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'coolant-package-console-'));
  const secret = () => randomBytes(18).toString('base64url');
  const adminToken = secret();
  const enrollToken = secret();
  let out = '';
  const child = spawn(process.execPath, [...CONSOLE_NODE_ARGS, join(root, 'scripts/start.mjs')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      COOLANT_DATA_DIR: dataDir,
      COOLANT_ADMIN_TOKEN: adminToken,
      COOLANT_ADMIN_PASSWORD: secret(),
      COOLANT_ENROLL_TOKEN: enrollToken,
      COOLANT_LOCAL_AGENT: 'false',
      DATABASE_URL: '',
      NODE_ENV: 'production',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  // A first start may build the console (next build): minutes on a small machine.
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(dataDir, { recursive: true, force: true });
      // Another console's build can replace .next under this one while it starts (a shared
      // checkout); that is a start-up race, not a failed self-test: start it again.
      if (attempt < 4 && /Could not find a production build/.test(out)) return startRealConsole(attempt + 1);
      fail(`the console for the self-test exited with ${child.exitCode}:\n${out}`);
    }
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      fail(`the console for the self-test did not become healthy in 10 minutes:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  /** lastSeq of the node enrolled under `hostname`, as the console stored it (0 when none yet). */
  const storedSeq = async (hostname) => {
    const res = await fetch(`${url}/api/trpc/fleet.list`, { headers: { authorization: `Bearer ${adminToken}` } });
    if (!res.ok) throw new Error(`fleet.list answered ${res.status}: ${await res.text()}`);
    const node = (await res.json()).result.data.nodes.find((n) => n.hostname === hostname);
    return Number(node?.lastSeq ?? 0);
  };
  return { url, enrollToken, storedSeq, stop, output: () => out };
}

/** RSS, PSS (shared pages divided among the processes that map them) and private pages, in KiB. */
function memoryKiB(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { rss: get('Rss'), pss: get('Pss'), private: get('Private_Clean') + get('Private_Dirty') };
  } catch {
    return { rss: 0, pss: 0, private: 0 };
  }
}

function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** Every process below pid (an inventory child and whatever it runs), by parent pid. */
function descendants(pid) {
  const parentOf = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name may contain spaces and parentheses; the fields after its last ")" do not.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const found = [];
  let frontier = [pid];
  while (frontier.length) {
    const next = [...parentOf].filter(([, ppid]) => frontier.includes(ppid)).map(([p]) => p);
    found.push(...next);
    frontier = next;
  }
  return found;
}

async function idleMemory(consoleProcess, name, command, args) {
  const stateDir = mkdtempSync(join(tmpdir(), 'coolant-agent-measure-'));
  const hostname = `package-self-test-${name.replace(/[^A-Za-z0-9._-]/g, '-')}-${process.pid}`;
  const child = spawn(
    command,
    [...args, '--server', consoleProcess.url, '--state-dir', stateDir, '--interval', '3600', '--hostname', hostname],
    {
      // The secret travels in the environment, as the console's local agent gets it.
      env: { ...process.env, COOLANT_ENROLL_TOKEN: consoleProcess.enrollToken },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  try {
    const deadline = Date.now() + 60_000;
    while ((await consoleProcess.storedSeq(hostname)) < 1) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${command} exited before its first report was stored: ${stderr.trim()}`);
      if (Date.now() > deadline)
        throw new Error(`the console did not store a report of ${command} within 60 s: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Let the cycle's garbage and the HTTP keep-alive settle, as between two real reports.
    await new Promise((r) => setTimeout(r, 3000));
    // Idle means idle: CPU over the measuring window (a busy drain loop would show here).
    const ticks0 = cpuTicks(child.pid);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, 2000));
    const cpuMs =
      ((cpuTicks(child.pid) - ticks0) * 1000) /
      Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
    const windowMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const self = memoryKiB(child.pid);
    const below = descendants(child.pid).map(memoryKiB);
    const tree = {
      rss: self.rss + below.reduce((s, m) => s + m.rss, 0),
      pss: self.pss + below.reduce((s, m) => s + m.pss, 0),
      processes: 1 + below.length,
    };
    const t = process.hrtime.bigint();
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    const stopMs = Number(process.hrtime.bigint() - t) / 1e6;
    if (code !== 0) throw new Error(`${command} stopped with ${code ?? signal} on SIGTERM: ${stderr.trim()}`);
    return { self, tree, cpuPercent: (cpuMs / windowMs) * 100, stopMs };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const [i, row] of rows.entries()) {
    console.log(
      row
        .map((cell, j) => cell.padEnd(widths[j]))
        .join('  ')
        .trimEnd(),
    );
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

if (!opts['bundle-only']) checkHost();
const started = Date.now();
let info;
if (opts['if-stale'] && isFresh()) {
  info = JSON.parse(readFileSync(INFO_PATH, 'utf8'));
  console.log(`dist/agent is up to date (coolant-agent ${info.version}, built with node ${info.node})`);
} else {
  info = await build();
  const what = opts['bundle-only'] ? `${relative(root, BUNDLE_PATH)}` : 'for linux-x64';
  console.log(
    `Built coolant-agent ${version} ${what} in ${((Date.now() - started) / 1000).toFixed(1)}s (${opts['bundle-only'] ? 'bundle only' : `base: node ${process.version}${info.stripped ? ', stripped' : ''}`})`,
  );
}
if (opts['bundle-only']) process.exit(0);

const artifacts = [
  { name: relative(root, SEA_PATH), path: SEA_PATH, command: SEA_PATH, args: [] },
  { name: relative(root, BUNDLE_PATH), path: BUNDLE_PATH, command: process.execPath, args: [BUNDLE_PATH] },
];
const header = [
  'artifact',
  'size',
  'start-up (--version)',
  'idle RSS / PSS, agent',
  'idle RSS / PSS, whole tree',
  'idle CPU',
  'stop on SIGTERM',
];
const rows = [header];
const kib = (k) => mb(k * 1024);
const consoleProcess = opts['skip-measure'] ? null : await startRealConsole();
try {
  for (const a of artifacts) {
    const size = mb(statSync(a.path).size);
    if (!consoleProcess) {
      rows.push([a.name, size, '-', '-', '-', '-', '-']);
      continue;
    }
    const t = startupMs(a.command, [...a.args, '--version']);
    const m = await idleMemory(consoleProcess, a.name, a.command, a.args);
    rows.push([
      a.name,
      size,
      `${t.best.toFixed(0)} ms best, ${t.median.toFixed(0)} ms median of 7`,
      `${kib(m.self.rss)} / ${kib(m.self.pss)}`,
      `${kib(m.tree.rss)} / ${kib(m.tree.pss)} (${m.tree.processes} process${m.tree.processes === 1 ? '' : 'es'})`,
      `${m.cpuPercent.toFixed(2)} %`,
      `${m.stopMs.toFixed(0)} ms`,
    ]);
  }
} catch (error) {
  await consoleProcess?.stop();
  fail(`self-test: ${error.message}`);
}
await consoleProcess?.stop();
console.log('');
printTable(rows);
if (consoleProcess) {
  console.log(
    "\n(the .mjs runs under this machine's node; memory measured 3 s after a real console (scripts/start.mjs on 127.0.0.1) stored the agent's first report, --interval 3600; CPU over the next 2 s; PSS divides shared pages among every process mapping them)",
  );
}
