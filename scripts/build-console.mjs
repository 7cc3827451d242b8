#!/usr/bin/env node
// What the console runs, built once so nothing compiles TypeScript at run time
// (`npm run build` through apps/console's build script, and `npm start` with --if-stale):
//
//   apps/console/.next            `next build`: the pages
//   apps/console/dist/server.mjs  server/main.ts with the workspace packages (@coolant/api, db, telemetry,
//                                 generator: TypeScript sources) bundled in by esbuild; npm dependencies
//                                 (next, react, @prisma/*, better-sqlite3, pg, …) stay in node_modules
//   apps/console/dist/worker.js   the generator's worker thread (smoke tests), weights inside: the
//                                 generator looks for worker.js beside the module that calls it
//   apps/console/dist/migrate-worker.mjs  the migrations, run by the server in a child process so
//                                 none of the wasm schema engine's memory stays in the server
//   dist/agent/coolant-agent.mjs  the agent bundle the local agent runs, the one `npm run agent:package`
//                                 ships (scripts/package-agent.mjs --bundle-only)
//
// Options:
//   --if-stale  build only the parts older than one of their inputs (the server's inputs are the files
//               esbuild read, recorded in dist/build-info.json; the pages' are their source trees)
//   --no-agent  leave the agent bundle alone (a console without a local agent does not need it)
//
// Several consoles started at once (tests, two instances) must not build in one directory together:
// one builds under a lock directory, the others wait for it and then find the build fresh.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { inputsUnchanged, readBuildRecord, recordedInputs, writeBuildRecord } from './lib/build-record.mjs';
import { consoleBundleOptions, loadEsbuild } from './lib/esbuild-options.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const consoleDir = join(root, 'apps/console');
const distDir = join(consoleDir, 'dist');
const buildId = join(consoleDir, '.next/BUILD_ID');
const serverInfo = join(distDir, 'build-info.json');
const lock = join(consoleDir, '.build-lock');
const lockfile = join(root, 'package-lock.json');
const self = fileURLToPath(import.meta.url);
// The options every bundle shares: a change there is a change of this build.
const sharedOptions = join(root, 'scripts/lib/esbuild-options.mjs');

const { values: opts } = parseArgs({
  options: { 'if-stale': { type: 'boolean', default: false }, 'no-agent': { type: 'boolean', default: false } },
});

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry.name)));
  }
  return newest;
}

// The pages import @coolant/api/client, and `next build` type-checks through it into every
// workspace package the api uses (the generated Prisma types included).
const pageInputs = [
  'apps/console/src',
  'apps/console/next.config.ts',
  'apps/console/tsconfig.json',
  'apps/console/package.json',
  'packages/api/src',
  'packages/db/src',
  'packages/db/generated',
  'packages/telemetry/src',
  'packages/generator/src',
  'package-lock.json',
].map((p) => join(root, p));

const pagesStale = () => !existsSync(buildId) || pageInputs.some((p) => newestMtime(p) > statSync(buildId).mtimeMs);

function serverStale() {
  const info = readBuildRecord(serverInfo);
  if (
    !info ||
    info.node !== process.version ||
    !['server.mjs', 'worker.js', 'migrate-worker.mjs'].every((f) => existsSync(join(distDir, f)))
  )
    return true;
  return !inputsUnchanged(root, info, [lockfile, self, sharedOptions]);
}

function run(command, args, cwd) {
  const r = spawnSync(command, args, { cwd, stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
  if (r.status !== 0) {
    console.error(
      `build: ${[command, ...args].map((a) => (a.startsWith(root) ? relative(root, a) : a)).join(' ')} failed (${r.status ?? r.signal})`,
    );
    process.exit(r.status ?? 1);
  }
}

function buildPages() {
  const started = Date.now();
  run(process.execPath, [join(root, 'node_modules/next/dist/bin/next'), 'build'], consoleDir);
  // Dated at the start: a source saved during the build makes the next start rebuild.
  utimesSync(buildId, started / 1000, started / 1000);
}

// The worker thread reads the weights from the bundle instead of ../model/weights.bin, a path that
// means nothing beside apps/console/dist. Imported after useEmbeddedWeights(), as worker.ts draws at once.
const workerEntry = `
import { useEmbeddedWeights } from './packages/generator/src/model.ts';
import weights from './packages/generator/model/weights.bin';
useEmbeddedWeights(weights);
await import('./packages/generator/src/worker.ts');
`;

async function buildServer() {
  const esbuild = loadEsbuild();
  mkdirSync(distDir, { recursive: true });
  rmSync(serverInfo, { force: true });
  const builtAtMs = Date.now();
  // Beside the output: the final renames must not cross file systems (a running console keeps its inode).
  const work = mkdtempSync(join(distDir, '.build-'));
  try {
    // Not minified: stack traces from a console in the field stay readable (lib/esbuild-options.mjs).
    const common = consoleBundleOptions();
    const [server, worker, migrate] = await Promise.all([
      esbuild.build({
        ...common,
        entryPoints: [join(consoleDir, 'server/main.ts')],
        outfile: join(work, 'server.mjs'),
      }),
      esbuild.build({
        ...common,
        entryPoints: [join(consoleDir, 'server/migrate-worker.ts')],
        outfile: join(work, 'migrate-worker.mjs'),
      }),
      esbuild.build({
        ...common,
        stdin: { contents: workerEntry, resolveDir: root, sourcefile: '<generator-worker>', loader: 'ts' },
        outfile: join(work, 'worker.js'),
      }),
    ]);
    renameSync(join(work, 'worker.js'), join(distDir, 'worker.js'));
    renameSync(join(work, 'migrate-worker.mjs'), join(distDir, 'migrate-worker.mjs'));
    renameSync(join(work, 'server.mjs'), join(distDir, 'server.mjs'));
    const inputs = recordedInputs(root, ...[server, worker, migrate].map((b) => Object.keys(b.metafile.inputs)));
    writeBuildRecord(serverInfo, { node: process.version, builtAtMs, inputs });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const ifStale = opts['if-stale'];
const anyStale = () => !ifStale || pagesStale() || serverStale();
// Checked before taking the lock, too: a fresh build on a read-only tree (the systemd unit) starts
// without writing anything.
for (let waited = 0; anyStale();) {
  try {
    mkdirSync(lock);
  } catch (error) {
    if (error.code !== 'EEXIST')
      throw new Error(
        `cannot take the build lock ${lock}: ${error.message} (the build is stale; build it with npm run build)`,
        { cause: error },
      );
    const owner = Number(existsSync(join(lock, 'pid')) ? readFileSync(join(lock, 'pid'), 'utf8') : 0);
    if (owner && !alive(owner)) rmSync(lock, { recursive: true, force: true });
    else if ((waited += 500) > 600_000)
      throw new Error('waited 10 minutes for another console build to finish', { cause: error });
    sleep(500);
    continue;
  }
  try {
    writeFileSync(join(lock, 'pid'), String(process.pid));
    // Another process may have built it while this one waited for the lock.
    if (anyStale()) {
      if (ifStale) console.log('Building the console (first start or sources changed)…');
      if (!ifStale || pagesStale()) buildPages();
      if (!ifStale || serverStale()) {
        const t = Date.now();
        await buildServer();
        console.log(`Built ${relative(root, join(distDir, 'server.mjs'))} in ${((Date.now() - t) / 1000).toFixed(1)}s`);
      }
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  break;
}

// package-agent.mjs keeps its own record of inputs, and replaces its files by rename (two builds at
// once are harmless), so it runs outside the lock; always "if stale" here, and quiet when fresh.
if (!opts['no-agent']) {
  const r = spawnSync(process.execPath, [join(root, 'scripts/package-agent.mjs'), '--bundle-only', '--if-stale'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0 || !/up to date/.test(r.stdout)) process.stdout.write(r.stdout + r.stderr);
  if (r.status !== 0) process.exit(r.status ?? 1);
}
