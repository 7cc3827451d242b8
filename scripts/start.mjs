#!/usr/bin/env node
// `npm start`: build what is missing or older than its sources (scripts/build-console.mjs
// --if-stale: the pages, the server bundle, the local agent's bundle), then run the built
// console server in this very process (it migrates the database and starts a local agent).
// Plain node on JavaScript: no TypeScript compiler, and no launcher process left waiting.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// The console reads COOLANT_LOCAL_AGENT itself (server/env.ts); here it only decides whether the
// agent bundle is needed, so a deployment without a local agent never has to write dist/agent.
const localAgent = !['false', '0', 'no'].includes(process.env.COOLANT_LOCAL_AGENT ?? '');
const build = spawnSync(
  process.execPath,
  [join(root, 'scripts/build-console.mjs'), '--if-stale', ...(localAgent ? [] : ['--no-agent'])],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (build.status !== 0) process.exit(build.status ?? 1);

process.env.NEXT_TELEMETRY_DISABLED = '1';
// Next's configuration as `next build` resolved it, the way Next's own standalone server starts:
// otherwise every start compiles next.config.ts with Next's SWC binding (~25 MB resident). Headers
// and redirects from the config are already in the build's routes manifest.
if (!process.argv.includes('--dev')) {
  const serverFiles = join(root, 'apps/console/.next/required-server-files.json');
  process.env.__NEXT_PRIVATE_STANDALONE_CONFIG ??= JSON.stringify(JSON.parse(readFileSync(serverFiles, 'utf8')).config);
}
// As before, when the server was a child started in the repository root: a relative COOLANT_DATA_DIR
// means the same directory whether started as `npm start` or `npm start -w @coolant/console`.
process.chdir(root);
await import(pathToFileURL(join(root, 'apps/console/dist/server.mjs')).href);
