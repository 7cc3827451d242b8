import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // package.test.ts builds the single executable and starts a console (whose first start
    // builds Next); the deploy tests may apt-get install nginx, prometheus or systemd.
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Two files at a time: they wait on child processes and a console far more than they compute
    // (48 s of test time ran in 51 s one file at a time, on two cores).
    maxWorkers: 2,
  },
});
