import { defineConfig } from 'vitest/config';

// The depiction test draws ten thousand cells; generous timeouts keep a loaded CI machine
// from failing it on time rather than on content.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000 } });
