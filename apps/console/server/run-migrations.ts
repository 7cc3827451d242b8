import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TDbConfig } from '@coolant/db';

/** The migrations child gets this long; a schema engine that hangs must not hold the start forever. */
const MIGRATIONS_TIMEOUT_MS = 10 * 60_000;

/**
 * Applies the committed migrations and returns the names applied. From the built server
 * (apps/console/dist) in a child process running the bundled migrate-worker.mjs beside it, so none of
 * the schema engine's memory stays in the server: a worker thread gave back its heap but left ~45 MB
 * of native memory (malloc arenas, wasm) in the process for good. From source (`npm run dev`) in this
 * process, as no bundle is there.
 */
export async function runMigrations(config: TDbConfig): Promise<string[]> {
  const childUrl = new URL('./migrate-worker.mjs', import.meta.url);
  if (!existsSync(fileURLToPath(childUrl))) {
    const { applyMigrations } = await import('@coolant/db/migrate');
    return applyMigrations(config);
  }
  return new Promise<string[]>((resolve, reject) => {
    let applied: string[] | null = null;
    let failure: string | null = null;
    // The configuration (it may carry a database password) goes over the IPC channel, not argv.
    const child = fork(fileURLToPath(childUrl), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    const timer = setTimeout(() => child.kill('SIGKILL'), MIGRATIONS_TIMEOUT_MS);
    child.on('message', (m: { applied?: string[]; error?: string }) => {
      if (m.applied) applied = m.applied;
      if (m.error) failure = m.error;
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (applied) resolve(applied);
      else reject(new Error(failure ?? `the migrations process exited with ${signal ?? code} before reporting`));
    });
    child.send({ config });
  });
}
