import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveDbConfig } from '../src/config';
import { applyMigrations, diffMigrationsToSchema, SCHEMA_PATH, withSchemaEngine } from '../src/migrate';
import { createTestDatabase } from '../src/testing/postgres';

// A schema edit without a migration must fail CI, on both databases.
describe('committed migrations match prisma/schema.prisma', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coolant-drift-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sqlite: no drift', async () => {
    const config = resolveDbConfig({ databaseUrl: `file:${join(dir, 'drift.db')}`, dataDir: dir });
    const result = await diffMigrationsToSchema(config);
    expect(result.sql, `missing migration, run npm run db:new-migration -- <name>:\n${result.sql}`).toBe('');
    expect(result.drift).toBe(false);
  });

  it('postgresql: no drift', async () => {
    const pg = await createTestDatabase('coolant_drift');
    try {
      const result = await diffMigrationsToSchema(resolveDbConfig({ databaseUrl: pg.url, dataDir: dir }));
      expect(result.sql, `missing migration, run npm run db:new-migration -- <name>:\n${result.sql}`).toBe('');
      expect(result.drift).toBe(false);
    } finally {
      await pg.drop();
    }
  });

  it('detects drift when the schema gains a field without a migration', async () => {
    const config = resolveDbConfig({ databaseUrl: `file:${join(dir, 'drift2.db')}`, dataDir: dir });
    const edited = readFileSync(SCHEMA_PATH, 'utf8').replace(
      'model Setting {',
      'model Setting {\n  driftProbe String?',
    );
    const result = await withSchemaEngine(config, (engine) =>
      engine.diff({
        from: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: readFileSync(SCHEMA_PATH, 'utf8') }] },
        to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: edited }] },
        script: true,
        exitCode: true,
        filters: { externalTables: [], externalEnums: [] },
      }),
    );
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain('driftProbe');
  });
});

describe('applyMigrations', () => {
  it.each(['sqlite', 'postgresql'] as const)(
    '%s: applies once, records in _prisma_migrations, then is a no-op',
    async (provider) => {
      const dir = mkdtempSync(join(tmpdir(), 'coolant-mig-'));
      const pg = provider === 'postgresql' ? await createTestDatabase('coolant_mig') : null;
      try {
        const config = resolveDbConfig({ databaseUrl: pg ? pg.url : `file:${join(dir, 'm.db')}`, dataDir: dir });
        const first = await applyMigrations(config);
        expect(first.length).toBeGreaterThan(0);
        expect(await applyMigrations(config)).toEqual([]);
        const { createPrismaClient } = await import('../src/client');
        const db = createPrismaClient(config);
        const rows = await db.$queryRawUnsafe<{ migration_name: string }[]>(
          'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL',
        );
        expect(rows.map((r) => r.migration_name).sort()).toEqual([...first].sort());
        await db.$disconnect();
      } finally {
        await pg?.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
