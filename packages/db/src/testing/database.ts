import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrismaClient, tuneSqlite, type TDb } from '../client';
import { resolveDbConfig, type TDbConfig, type TDbProvider } from '../config';
import { applyMigrations } from '../migrate';
import { createTestDatabase } from './postgres';

export type TTestDb = { db: TDb; config: TDbConfig; cleanup(): Promise<void> };

/**
 * A real, migrated, empty database for one test file: a SQLite file in a temp
 * dir, or a fresh PostgreSQL database on the local server.
 */
export async function createTestDb(provider: TDbProvider): Promise<TTestDb> {
  if (provider === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'coolant-test-'));
    const config = resolveDbConfig({ databaseUrl: `file:${join(dir, 'test.db')}`, dataDir: dir });
    await applyMigrations(config);
    const db = createPrismaClient(config);
    await tuneSqlite(db, config);
    return {
      db,
      config,
      async cleanup() {
        await db.$disconnect();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const pg = await createTestDatabase();
  const config = resolveDbConfig({ databaseUrl: pg.url, dataDir: tmpdir() });
  await applyMigrations(config);
  const db = createPrismaClient(config);
  return {
    db,
    config,
    async cleanup() {
      await db.$disconnect();
      await pg.drop();
    },
  };
}

/** Providers the integration suites run against. PostgreSQL is always included: CI must not skip it silently. */
export const TEST_PROVIDERS: TDbProvider[] = process.env.COOLANT_TEST_PROVIDERS
  ? (process.env.COOLANT_TEST_PROVIDERS.split(',') as TDbProvider[])
  : ['sqlite', 'postgresql'];
