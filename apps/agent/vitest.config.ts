import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // package.test.ts builds the single executable and starts a console (whose first start
    // builds Next); the deploy tests may apt-get install nginx, prometheus or systemd.
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
