import { mkdtempSync } from 'node:fs';
import { CONSOLE_NODE_ARGS } from '../scripts/lib/console-node-args.mjs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, findChromium } from './chromium';
import { ADMIN_PASSWORD, ADMIN_TOKEN, ENROLL_TOKEN } from './tests/helpers';

const PORT = Number(process.env.E2E_PORT ?? 3210);
const dataDir = process.env.E2E_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'coolant-e2e-'));
// The workers load this file again: they inherit the runner's environment, so they find the console's
// data dir (and its SQLite file, which a test may damage on purpose) here instead of making their own.
process.env.E2E_DATA_DIR = dataDir;
const root = resolve(import.meta.dirname, '..');

export default defineConfig({
  testDir: './tests',
  outputDir: process.env.E2E_OUTPUT_DIR ?? 'test-results',
  fullyParallel: false,
  workers: 1,
  // Retries hide flakiness; a flaky e2e test is a bug to fix.
  retries: 0,
  timeout: 60_000,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    launchOptions: { executablePath: findChromium(), args: CHROMIUM_ARGS },
    trace: 'retain-on-failure',
  },
  webServer: {
    // The built console (next build and the server bundle, scripts/build-console.mjs), as `npm start`
    // runs it, on a throwaway SQLite database.
    command: `node ${CONSOLE_NODE_ARGS.join(' ')} ${join(root, 'scripts/start.mjs')}`,
    url: `http://127.0.0.1:${PORT}/api/health`,
    timeout: 180_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    env: {
      PORT: String(PORT),
      HOST: '127.0.0.1',
      COOLANT_DATA_DIR: dataDir,
      COOLANT_ADMIN_PASSWORD: ADMIN_PASSWORD,
      COOLANT_ADMIN_TOKEN: ADMIN_TOKEN,
      COOLANT_LOCAL_AGENT: 'false',
      COOLANT_ENROLL_TOKEN: ENROLL_TOKEN,
      // The fleet test watches a stopped agent go stale, then offline, without waiting two minutes.
      COOLANT_NODE_OFFLINE_AFTER_SECONDS: '8',
      DATABASE_URL: '',
    },
  },
});
