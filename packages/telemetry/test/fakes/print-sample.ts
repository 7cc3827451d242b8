/** Run as `tsx test/fakes/print-sample.ts`: the agent's development mode, outside vitest. */
import { collectSample } from '../../src/index.ts';

const sample = await collectSample({ timeoutMs: 20_000 });
process.stdout.write(JSON.stringify(sample));
