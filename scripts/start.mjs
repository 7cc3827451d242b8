#!/usr/bin/env node
// `npm start`: build the console if its build is missing or older than its
// sources, then run it (it migrates the database and starts a local agent).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const consoleDir = join(root, 'apps/console');
const buildId = join(consoleDir, '.next/BUILD_ID');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const sources = [join(consoleDir, 'src'), join(root, 'packages/api/src'), join(root, 'packages/telemetry/src')];
const isStale = () => !existsSync(buildId) || sources.some((d) => newestMtime(d) > statSync(buildId).mtimeMs);
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
const lock = join(consoleDir, '.build-lock');

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Several consoles started at once (tests, two instances) must not run two
// `next build`s in one directory: one builds, the others wait for it.
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
for (let waited = 0; isStale(); ) {
  try {
    mkdirSync(lock);
  } catch {
    const owner = Number(existsSync(join(lock, 'pid')) ? readFileSync(join(lock, 'pid'), 'utf8') : 0);
    if (owner && !alive(owner)) rmSync(lock, { recursive: true, force: true });
    else if ((waited += 500) > 600_000) throw new Error('waited 10 minutes for another console build to finish');
    sleep(500);
    continue;
  }
  try {
    writeFileSync(join(lock, 'pid'), String(process.pid));
    if (isStale()) {
      console.log('Building the console (first start or sources changed)…');
      const r = spawnSync('npm', ['run', 'build', '-w', '@coolant/console'], { cwd: root, stdio: 'inherit', env });
      if (r.status !== 0) process.exit(r.status ?? 1);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');
const child = spawn(process.execPath, [tsx, join(consoleDir, 'server/main.ts'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env });
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
