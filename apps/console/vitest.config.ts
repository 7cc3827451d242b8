import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test starts real console processes and real agents, and spends most of its time waiting
    // on them (outages, report intervals, timeouts): two files at a time roughly halve the suite's
    // wall time on two cores (measured: 255 s against 486 s of test time). The first start may run
    // the build; scripts/build-console.mjs builds under a lock, so a second start waits for it.
    testTimeout: 300_000,
    hookTimeout: 600_000,
    maxWorkers: 2,
  },
});
