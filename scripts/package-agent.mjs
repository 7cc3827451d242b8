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
//   --skip-measure  do not measure start-up time and idle memory (the table then has sizes only)
//   --keep-symbols  do not strip the copied node binary (strip saves ~13 MB of symbols)
//   --bundle-only   build coolant-agent.mjs only (what `npm start`'s local agent runs); no executable,
//                   no measurement, and no check that this node can make one
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

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
  if (process.platform !== 'linux' || process.arch !== 'x64') fail(`builds linux-x64 only and must run there (this is ${process.platform}-${process.arch})`);
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 12)) fail(`needs Node >= 20.12 for single executables with node:sea (this is ${process.version})`);
  if (!readFileSync(process.execPath).includes(`${SEA_FUSE}:0`)) {
    fail(`${process.execPath} has no unused single-executable fuse (${SEA_FUSE}:0); build with an official or distribution node binary, not one that is already an executable application`);
  }
}

/** Fresh when every file esbuild read, this script and the node binary are older than the build. */
function isFresh() {
  if (!existsSync(INFO_PATH) || !existsSync(BUNDLE_PATH)) return false;
  let info;
  try {
    info = JSON.parse(readFileSync(INFO_PATH, 'utf8'));
  } catch {
    return false;
  }
  if (info.node !== process.version || info.nodeBinary !== process.execPath || info.version !== version) return false;
  // A bundle-only build leaves any older executable behind: stale for a full package.
  if (!opts['bundle-only'] && (info.bundleOnly || !existsSync(SEA_PATH))) return false;
  const inputs = [...info.inputs.map((p) => join(root, p)), fileURLToPath(import.meta.url), process.execPath];
  return inputs.every((p) => existsSync(p) && statSync(p).mtimeMs <= info.builtAtMs);
}

async function bundle(esbuild, format, outfile) {
  const esm = format === 'esm';
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    // Whitespace and syntax only: identifiers stay, so stack traces from the field stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // systeminformation requires these inside try/catch on macOS only.
    external: ['osx-temperature-sensor', 'macos-temperature-sensor'],
    // The generator's weights travel inside the artifact (smoke jobs on hosts with nothing installed).
    loader: { '.bin': 'binary' },
    define: {
      __COOLANT_PACKAGING__: '"bundle"',
      // A CommonJS bundle has no import.meta; the single executable's __filename is its own path.
      ...(esm ? {} : { 'import.meta.url': '__coolant_import_meta_url', 'import.meta.filename': '__filename', 'import.meta.dirname': '__dirname' }),
    },
    banner: {
      js: esm
        ? // CommonJS dependencies bundled into ESM still call require() for Node's builtins.
          '#!/usr/bin/env node\nimport { createRequire as __coolantCreateRequire } from "node:module"; const require = __coolantCreateRequire(import.meta.url);'
        : 'var __coolant_import_meta_url = require("node:url").pathToFileURL(__filename).href;',
    },
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
  console.log(`postject is not installed in ${root}/node_modules; running ${POSTJECT_FALLBACK} through npm exec (add it as a root devDependency to avoid this)`);
  // Its output is LIEF's warnings about the node binary's many notes; shown only when it fails.
  const r = spawnSync('npm', ['exec', '--yes', `--package=${POSTJECT_FALLBACK}`, '--', 'postject', executable, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], {
    cwd: dirname(executable),
    encoding: 'utf8',
  });
  if (r.status !== 0) fail(`postject failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
}

function hasStrip() {
  return spawnSync('sh', ['-c', 'command -v strip'], { stdio: 'ignore' }).status === 0;
}

async function build() {
  let esbuild;
  try {
    esbuild = requireFromRoot('esbuild');
  } catch {
    fail('esbuild is not installed (npm install at the repository root)');
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
      const inputs = (await bundle(esbuild, 'esm', bundleTmp)).map((p) => relative(root, resolve(root, p))).sort();
      chmodSync(bundleTmp, 0o755);
      const out = execFileSync(process.execPath, [bundleTmp, '--version'], { encoding: 'utf8', env: {} }).trim();
      if (out !== version) fail(`${bundleTmp} --version printed "${out}", expected ${version}`);
      renameSync(bundleTmp, BUNDLE_PATH);
      const info = { version, node: process.version, nodeBinary: process.execPath, bundleOnly: true, builtAtMs, inputs };
      writeFileSync(INFO_PATH, `${JSON.stringify(info, null, 2)}\n`);
      return info;
    }
    const cjs = join(work, 'coolant-agent.cjs');
    const [esmInputs, cjsInputs] = await Promise.all([bundle(esbuild, 'esm', bundleTmp), bundle(esbuild, 'cjs', cjs)]);
    chmodSync(bundleTmp, 0o755);

    // The single executable's require() loads Node's builtins only, hence one CommonJS file.
    const blob = join(work, 'sea-prep.blob');
    const seaConfig = join(work, 'sea-config.json');
    writeFileSync(seaConfig, JSON.stringify({ main: cjs, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
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

    // Rename, not copy: a running agent keeps its inode, and the artifacts appear complete or not at all.
    renameSync(exe, SEA_PATH);
    renameSync(bundleTmp, BUNDLE_PATH);
    const inputs = [...new Set([...esmInputs, ...cjsInputs])].map((p) => relative(root, resolve(root, p))).sort();
    const info = { version, node: process.version, nodeBinary: process.execPath, stripped, builtAtMs, inputs };
    writeFileSync(INFO_PATH, `${JSON.stringify(info, null, 2)}\n`);
    return info;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements: start-up time and memory at idle, against a stub console on 127.0.0.1.

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

/** The two tRPC mutations an agent calls, answered the way the console answers them. */
function startStubConsole() {
  const state = { reports: 0, waiters: [] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      let data = null;
      if (req.method === 'POST' && path === '/api/trpc/agent.enroll') data = { nodeId: 'stub-node', nodeToken: 'stub-node-token' };
      if (req.method === 'POST' && path === '/api/trpc/agent.report') {
        state.reports += 1;
        data = { duplicate: false };
        for (const w of state.waiters.splice(0)) w();
      }
      res.writeHead(data ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(data ? { result: { data } } : { error: { message: 'not found', code: -32004 } }));
    });
  });
  return new Promise((res) =>
    server.listen(0, '127.0.0.1', () =>
      res({
        url: `http://127.0.0.1:${server.address().port}`,
        firstReport: () => new Promise((r) => (state.reports > 0 ? r() : state.waiters.push(r))),
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

function rssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Every process below pid (the collector worker and whatever it runs), by parent pid. */
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

async function idleMemory(command, args) {
  const stub = await startStubConsole();
  const stateDir = mkdtempSync(join(tmpdir(), 'coolant-agent-measure-'));
  const child = spawn(command, [...args, '--server', stub.url, '--enroll-token', 'stub-enrollment-secret', '--state-dir', stateDir, '--interval', '3600'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  try {
    const outcome = await Promise.race([
      stub.firstReport().then(() => 'reported'),
      exited.then(() => 'exited'),
      new Promise((r) => setTimeout(() => r('timeout'), 30_000).unref()),
    ]);
    if (outcome !== 'reported') throw new Error(`${command} did not report (${outcome}): ${stderr.trim()}`);
    // Let the cycle's garbage and the HTTP keep-alive settle, as between two real reports.
    await new Promise((r) => setTimeout(r, 2000));
    const self = rssKiB(child.pid);
    const children = descendants(child.pid).reduce((sum, p) => sum + rssKiB(p), 0);
    const t = process.hrtime.bigint();
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    const stopMs = Number(process.hrtime.bigint() - t) / 1e6;
    if (code !== 0) throw new Error(`${command} stopped with ${code ?? signal} on SIGTERM: ${stderr.trim()}`);
    return { self, children, stopMs };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await stub.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, j) => cell.padEnd(widths[j])).join('  ').trimEnd());
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
  console.log(`Built coolant-agent ${version} ${what} in ${((Date.now() - started) / 1000).toFixed(1)}s (${opts['bundle-only'] ? 'bundle only' : `base: node ${process.version}${info.stripped ? ', stripped' : ''}`})`);
}
if (opts['bundle-only']) process.exit(0);

const artifacts = [
  { name: relative(root, SEA_PATH), path: SEA_PATH, command: SEA_PATH, args: [] },
  { name: relative(root, BUNDLE_PATH), path: BUNDLE_PATH, command: process.execPath, args: [BUNDLE_PATH] },
];
const header = ['artifact', 'size', 'start-up (--version)', 'idle RSS after one cycle', 'stop on SIGTERM'];
const rows = [header];
for (const a of artifacts) {
  const size = mb(statSync(a.path).size);
  if (opts['skip-measure']) {
    rows.push([a.name, size, '-', '-', '-']);
    continue;
  }
  const t = startupMs(a.command, [...a.args, '--version']);
  const m = await idleMemory(a.command, a.args);
  const children = m.children ? ` (+${mb(m.children * 1024)} children)` : '';
  rows.push([a.name, size, `${t.best.toFixed(0)} ms best, ${t.median.toFixed(0)} ms median of 7`, `${mb(m.self * 1024)}${children}`, `${m.stopMs.toFixed(0)} ms`]);
}
console.log('');
printTable(rows);
if (!opts['skip-measure']) console.log('\n(the .mjs runs under this machine\'s node; memory measured against a stub console on 127.0.0.1, --interval 3600)');
