import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDbConfig } from '../config';
import { createMigration } from '../migrate';
import { createTestDatabase } from '../testing/postgres';

// `npm run db:new-migration -- <name>`: writes the migration that takes the
// committed migrations to prisma/schema.prisma, for SQLite and PostgreSQL.
const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:new-migration -- <name>   (lowercase letters, digits, _)');
  process.exit(2);
}
const now = new Date();
const dir = mkdtempSync(join(tmpdir(), 'coolant-migration-'));
try {
  const sqlite = await createMigration(
    resolveDbConfig({ databaseUrl: `file:${join(dir, 'scratch.db')}`, dataDir: dir }),
    name,
    now,
  );
  console.log(sqlite ? `sqlite: wrote ${sqlite}` : 'sqlite: schema matches the migrations; nothing written');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const pgDb = await createTestDatabase('coolant_migration');
try {
  const pg = await createMigration(resolveDbConfig({ databaseUrl: pgDb.url, dataDir: dir }), name, now);
  console.log(pg ? `postgresql: wrote ${pg}` : 'postgresql: schema matches the migrations; nothing written');
} finally {
  await pgDb.drop();
}
