// The console's migrations, run in a child process of their own (run-migrations.ts forks it). Prisma's
// wasm schema engine stays resident once loaded; a process that exits gives every byte of it back,
// where a worker thread left native memory behind in the long-running server.
import type { TDbConfig } from '@coolant/db';
import { applyMigrations } from '@coolant/db/migrate';

process.once('message', (m: { config: TDbConfig }) => {
  applyMigrations(m.config).then(
    (applied) => process.send!({ applied }, () => process.exit(0)),
    (error: unknown) => {
      // The message is the migration runner's own (names the migration and the database's error).
      process.send!({ error: error instanceof Error ? error.message : String(error) }, () => process.exit(1));
    },
  );
});
