#!/usr/bin/env node
// Runs a TypeScript bench the way the console runs: bundled by esbuild (the @coolant/* workspace
// packages, which are TypeScript sources, bundled in; npm dependencies such as better-sqlite3, pg and
// @prisma/* left in node_modules, as scripts/build-console.mjs does) and executed by plain node, so a
// bench measures built code and not tsx's compile-on-load.
//
//   node bench/lib/run-bundled.mjs bench/admission-scale.ts [bench args…]
//
// The bundle goes to bench/.scratch/bundled/ (ignored by git). The bench runs in a child node with
// --expose-gc (so it can report RSS after a collection) and the console's own node flags (an in-process
// bench such as admission-scale.ts is the console's services); NODE_OPTIONS is passed through (a
// profiling preload, for instance).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CONSOLE_NODE_ARGS } from '../../scripts/lib/console-node-args.mjs';
import { consoleBundleOptions, loadEsbuild } from '../../scripts/lib/esbuild-options.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node bench/lib/run-bundled.mjs <bench/x.ts> [args…]');
  process.exit(2);
}

const outDir = join(ROOT, 'bench/.scratch/bundled');
mkdirSync(outDir, { recursive: true });
// Beside the repository's sources, so code that looks for prisma/ above its own file finds it.
const outfile = join(outDir, `${basename(entry).replace(/\.[cm]?ts$/, '')}.mjs`);
// The console's bundle options (scripts/lib/esbuild-options.mjs), so a bench runs what the console runs.
await loadEsbuild().build({ ...consoleBundleOptions(), entryPoints: [resolve(entry)], outfile });

const child = spawn(process.execPath, [...CONSOLE_NODE_ARGS, '--expose-gc', outfile, ...args], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
