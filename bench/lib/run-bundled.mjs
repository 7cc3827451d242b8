#!/usr/bin/env node
// Runs a TypeScript bench the way the console runs: bundled by esbuild (the @coolant/* workspace
// packages, which are TypeScript sources, bundled in; npm dependencies such as better-sqlite3, pg and
// @prisma/* left in node_modules, as scripts/build-console.mjs does) and executed by plain node, so a
// bench measures built code and not tsx's compile-on-load.
//
//   node bench/lib/run-bundled.mjs bench/admission-scale.ts [bench args…]
//
// The bundle goes to bench/.scratch/bundled/ (ignored by git). The bench runs in a child node with
// --expose-gc (so it can report RSS after a collection); NODE_OPTIONS is passed through (a profiling
// preload, for instance).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, isAbsolute, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node bench/lib/run-bundled.mjs <bench/x.ts> [args…]');
  process.exit(2);
}

/** npm dependencies stay external (resolved from node_modules at run time); @coolant/* are bundled in. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (a) => {
      if (isAbsolute(a.path) || a.path.startsWith('@coolant/')) return undefined;
      return { path: a.path, external: true };
    });
  },
};

const outDir = join(ROOT, 'bench/.scratch/bundled');
mkdirSync(outDir, { recursive: true });
// Beside the repository's sources, so code that looks for prisma/ above its own file finds it.
const outfile = join(outDir, `${basename(entry).replace(/\.[cm]?ts$/, '')}.mjs`);
const esbuild = createRequire(join(ROOT, 'package.json'))('esbuild');
await esbuild.build({
  entryPoints: [resolve(entry)],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [externalPackages],
  loader: { '.bin': 'binary' },
  // CommonJS code bundled into ESM still calls require() for Node's builtins.
  banner: {
    js: 'import { createRequire as __coolantCreateRequire } from "node:module"; const require = __coolantCreateRequire(import.meta.url);',
  },
});

const child = spawn(process.execPath, ['--expose-gc', outfile, ...args], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
