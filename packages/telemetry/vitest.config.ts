import { defineConfig } from 'vitest/config';

// Collector tests start real child processes (the systeminformation worker under tsx, fake
// nvidia-smi and lspci), which takes a second or so each on a loaded CI machine.
// Two files at a time: most of a file's time is spent waiting on those children (37 s of test time
// ran in 42 s one file at a time, on two cores).
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000, maxWorkers: 2 } });
