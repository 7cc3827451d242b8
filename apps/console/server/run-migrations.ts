// Applies the committed migrations at start, in a child process (see runMigrations for why).
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TDbConfig } from '@coolant/db';

/** A migration still running after this long is reported (never killed: see below). */
const SLOW_MIGRATIONS_MS = 60_000;

/**
 * Applies the committed migrations and returns the names applied. From the built server
 * (apps/console/dist) in a child process running the bundled migrate-worker.mjs beside it, so none of
 * the schema engine's memory stays in the server: a worker thread gave back its heap but left ~45 MB
 * of native memory (malloc arenas, wasm) in the process for good. From source (`npm run dev`) in this
 * process, as no bundle is there.
 *
 * The child has no deadline: a long migration (an index on a large telemetry table) killed half-way
 * would leave a started migration behind that blocks every later start. It is reported once a
 * minute instead, and a SIGTERM/SIGINT sent to the server while it runs is passed on to it, so a
 * stopped console does not leave a migration holding the database.
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
    const started = Date.now();
    // The configuration (it may carry a database password) goes over the IPC channel, not argv.
    const child = fork(fileURLToPath(childUrl), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    const slow = setInterval(
      () =>
        console.warn(`Migrations still running after ${Math.round((Date.now() - started) / 60_000)} min (not stopped)`),
      SLOW_MIGRATIONS_MS,
    );
    // The child stops, the promise rejects ("exited with SIGTERM"), and the console does not start.
    const forward = (signal: NodeJS.Signals) => void child.kill(signal);
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    const done = () => {
      clearInterval(slow);
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
    };
    child.on('message', (m: { applied?: string[]; error?: string }) => {
      if (m.applied) applied = m.applied;
      if (m.error) failure = m.error;
    });
    child.once('error', (error) => {
      done();
      reject(error);
    });
    // 'close', not 'exit': the last IPC message has been delivered by then.
    child.once('close', (code, signal) => {
      done();
      if (applied) resolve(applied);
      else reject(new Error(failure ?? `the migrations process exited with ${signal ?? code} before reporting`));
    });
    child.send({ config });
  });
}
