#!/usr/bin/env node
// `npm run cluster:demo [-- --check --duration 60 …]`: the demo itself is TypeScript in
// scripts/cluster-demo/ (main.ts says what it starts and why it is TypeScript). This launcher bundles
// it with esbuild, with the console's options (scripts/lib/esbuild-options.mjs: @coolant/* and the
// demo's own files bundled in, npm packages such as pg and @trpc/client left in node_modules), into
// dist/cluster-demo/cluster-demo.mjs, only when a source is newer than the bundle (build-info.json
// beside it, as for the agent and the light fleet sim), and runs it in this process with plain node.
// No tsx and no second node process: Ctrl-C reaches the demo directly.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inputsUnchanged, readBuildRecord, recordedInputs, writeBuildRecord } from './lib/build-record.mjs';
import { consoleBundleOptions, loadEsbuild } from './lib/esbuild-options.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(root, 'dist/cluster-demo/cluster-demo.mjs');
const INFO = join(root, 'dist/cluster-demo/build-info.json');
const extraInputs = [fileURLToPath(import.meta.url), join(root, 'scripts/lib/esbuild-options.mjs')];

function fresh() {
  const info = readBuildRecord(INFO);
  return !!info && existsSync(BUNDLE) && info.node === process.version && inputsUnchanged(root, info, extraInputs);
}

if (!fresh()) {
  const builtAtMs = Date.now();
  mkdirSync(dirname(BUNDLE), { recursive: true });
  const esbuild = loadEsbuild();
  const result = await esbuild.build({
    ...consoleBundleOptions(),
    entryPoints: [join(root, 'scripts/cluster-demo/main.ts')],
    outfile: BUNDLE,
  });
  writeBuildRecord(INFO, {
    node: process.version,
    builtAtMs,
    inputs: recordedInputs(root, Object.keys(result.metafile.inputs)),
  });
}
await import(pathToFileURL(BUNDLE).href);
