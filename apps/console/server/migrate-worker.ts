// The console's migrations, run on a worker thread of their own. Prisma's wasm schema engine
// stays resident once loaded (≈25 MB in a process that only migrates); a worker's heap and wasm
// memory are given back when it exits, so the long-running server never holds the engine.
import { parentPort, workerData } from 'node:worker_threads';
import type { TDbConfig } from '@coolant/db';
import { applyMigrations } from '@coolant/db/migrate';

const applied = await applyMigrations((workerData as { config: TDbConfig }).config);
parentPort!.postMessage(applied);
