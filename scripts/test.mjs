#!/usr/bin/env node
// `npm test`: the whole suite. Type checks, unit and integration tests of
// every package (SQLite and PostgreSQL; the suites start the local PostgreSQL
// themselves), then the Playwright e2e tests in Debian's Chromium against the
// built console.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', TURBO_TELEMETRY_DISABLED: '1' };

const steps = [
  ['typecheck', ['npx', 'turbo', 'run', 'typecheck', '--output-logs=errors-only']],
  ['typecheck scripts', ['npx', 'tsc', '--noEmit', '-p', 'scripts/cluster-demo']],
  // Formatting first (Prettier, `npm run format` fixes it), then ESLint in every package.
  ['format', ['npx', 'prettier', '--check', '--log-level=warn', '.']],
  // No import cycle in packages/api/src and no long file without a reason (scripts/check-structure.mjs).
  ['structure', ['node', 'scripts/check-structure.mjs']],
  ['lint', ['npx', 'turbo', 'run', 'lint', '--output-logs=errors-only']],
  // One package at a time: the integration suites share the machine's PostgreSQL and 2 cores.
  ['unit + integration', ['npx', 'turbo', 'run', 'test', '--concurrency=1']],
  // The scripts' own tests (not a workspace): the launch simulation's HTTP deadlines.
  ['scripts', ['npx', 'vitest', 'run', 'scripts']],
  ['build', ['npx', 'turbo', 'run', 'build', '--output-logs=errors-only']],
  ['e2e', ['npm', 'run', 'test:e2e', '-w', '@coolant/e2e']],
];

for (const [name, [cmd, ...args]] of steps) {
  const started = Date.now();
  console.log(`\n=== ${name} ===`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`\n=== ${name} FAILED after ${secs}s ===`);
    process.exit(r.status ?? 1);
  }
  console.log(`=== ${name} passed in ${secs}s ===`);
}
