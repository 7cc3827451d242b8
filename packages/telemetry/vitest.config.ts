import { defineConfig } from 'vitest/config';

// Collector tests start real child processes (the systeminformation worker under tsx, fake
// nvidia-smi and lspci), which takes a second or so each on a loaded CI machine.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000 } });
