import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TDbConfig } from '@coolant/db';

/**
 * Applies the committed migrations and returns the names applied. From the built server
 * (apps/console/dist) on the bundled migrate-worker.mjs beside it, so the schema engine's memory
 * leaves with the worker; from source (`npm run dev`) in this process, as no bundle is there.
 */
export async function runMigrations(config: TDbConfig): Promise<string[]> {
  const workerUrl = new URL('./migrate-worker.mjs', import.meta.url);
  if (!existsSync(fileURLToPath(workerUrl))) {
    const { applyMigrations } = await import('@coolant/db/migrate');
    return applyMigrations(config);
  }
  return new Promise<string[]>((resolve, reject) => {
    let applied: string[] | null = null;
    const worker = new Worker(workerUrl, { workerData: { config } });
    worker.once('message', (names: string[]) => (applied = names));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      applied ? resolve(applied) : reject(new Error(`the migrations worker exited with ${code} before reporting`)),
    );
  });
}
