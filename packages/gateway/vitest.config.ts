import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The integration test starts a real console, whose first start may build Next (minutes on 2 cores).
    testTimeout: 60_000,
    hookTimeout: 600_000,
  },
});
