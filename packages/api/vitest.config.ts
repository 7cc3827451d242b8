import { defineConfig } from 'vitest/config';

// Two test files at a time: each uses its own SQLite file and PostgreSQL database, and much of a
// file's time is spent waiting on PostgreSQL, another process (measured on 2 cores: 182 s against
// 322 s of test time).
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000, maxWorkers: 2 } });
