import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import pg from 'pg';
import * as engineGlue from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import { ensureSqliteDir, type TDbConfig, type TDbProvider } from './config';

/**
 * The repository's prisma/ directory (schema and migrations are read from disk, not bundled): the
 * nearest one above this module, which is packages/db/src from source and apps/console/dist in
 * the console's bundle.
 */
function findPrismaDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'prisma/schema.prisma'))) return join(dir, 'prisma');
    if (dirname(dir) === dir) throw new Error(`no prisma/schema.prisma in ${from} or any directory above it`);
  }
}
export const PRISMA_DIR = findPrismaDir(dirname(fileURLToPath(import.meta.url)));
export const SCHEMA_PATH = join(PRISMA_DIR, 'schema.prisma');

export function migrationsDir(provider: TDbProvider): string {
  return join(PRISMA_DIR, 'migrations', provider);
}

const noFilters = { externalTables: [], externalEnums: [] };

let wasmReady = false;

// @types/node 20 does not declare the WebAssembly global; this is the part used here.
type TWasmApi = {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
};
const Wasm = (globalThis as unknown as { WebAssembly: TWasmApi }).WebAssembly;

/**
 * The package's main entry imports the .wasm as an ES module, which Node 20
 * cannot load, so the module is instantiated by hand and handed to the glue.
 */
function loadEngineWasm(): void {
  if (wasmReady) return;
  const require = createRequire(import.meta.url);
  const wasmPath = join(
    dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')),
    'schema_engine_bg.wasm',
  );
  const module = new Wasm.Module(readFileSync(wasmPath));
  const instance = new Wasm.Instance(module, { './schema_engine_bg.js': engineGlue });
  const glue = engineGlue as unknown as { __wbg_set_wasm(exports: unknown): void };
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
  wasmReady = true;
}

/**
 * The PostgreSQL adapter creates its shadow database by copying its pool
 * config with another `database`; a connection string would win over that
 * field, so the URL is split into discrete fields here.
 */
function pgPoolConfig(url: string) {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname) || '127.0.0.1',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    ...(u.searchParams.get('sslmode') === 'require' ? { ssl: { rejectUnauthorized: false } } : {}),
    max: 2,
  };
}

type TSqlAdapter = Awaited<ReturnType<SqlMigrationAwareDriverAdapterFactory['connect']>>;

/**
 * The wasm engine replays a migration into the shadow database as one raw
 * statement; better-sqlite3 prepares one statement at a time and refuses
 * ("contains more than one statement"). A parameterless multi-statement
 * script is therefore run with executeScript, which is what it is.
 */
function allowScripts(adapter: TSqlAdapter): TSqlAdapter {
  const executeRaw = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = async (query) => {
    try {
      return await executeRaw(query);
    } catch (error) {
      if (query.args.length === 0 && /more than one statement/.test(String((error as Error)?.message ?? error))) {
        await adapter.executeScript(query.sql);
        return 0;
      }
      throw error;
    }
  };
  return adapter;
}

function trackConnections(inner: SqlMigrationAwareDriverAdapterFactory) {
  const open: TSqlAdapter[] = [];
  const track = async (p: Promise<TSqlAdapter>) => {
    const adapter = await p;
    open.push(adapter);
    return adapter;
  };
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: () => track(inner.connect()),
    connectToShadowDb: () => track(inner.connectToShadowDb()),
    async disposeAll() {
      for (const a of open.splice(0)) await a.dispose().catch(() => {});
    },
  };
}

function sqliteMigrationFactory(file: string): SqlMigrationAwareDriverAdapterFactory {
  const main = new PrismaBetterSqlite3({ url: file });
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: async () => allowScripts(await main.connect()),
    connectToShadowDb: async () => allowScripts(await main.connectToShadowDb()),
  };
}

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

type TQueryResult = { fields?: { dataTypeID: number }[] };

function retypeCharColumns<T>(result: T): T {
  for (const f of (result as TQueryResult)?.fields ?? []) if (f.dataTypeID === PG_CHAR_OID) f.dataTypeID = PG_TEXT_OID;
  return result;
}

/**
 * The schema engine reads PostgreSQL catalogs whose columns have the internal
 * one-byte "char" type (pg_class.relkind, …), which @prisma/adapter-pg 7.10
 * rejects as an unsupported column type. pg already returns those values as
 * strings, so the migration pool reports them as text.
 */
class CatalogPool extends pg.Pool {
  override query(...args: unknown[]): never {
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    return (out instanceof Promise ? out.then(retypeCharColumns) : out) as never;
  }
  override connect(...args: unknown[]): never {
    const out = (super.connect as (...a: unknown[]) => unknown)(...args);
    if (!(out instanceof Promise)) return out as never;
    return out.then((client: pg.PoolClient) => {
      const query = client.query.bind(client) as (...a: unknown[]) => unknown;
      (client as { query: unknown }).query = (...a: unknown[]) => {
        const r = query(...a);
        return r instanceof Promise ? r.then(retypeCharColumns) : r;
      };
      return client;
    }) as never;
  }
}

/**
 * PrismaPg's own shadow database drops the database before closing its pool,
 * which PostgreSQL refuses ("being accessed by other users"). This factory
 * closes the pool first and then drops the shadow database.
 */
function pgMigrationFactory(url: string): SqlMigrationAwareDriverAdapterFactory {
  const poolConfig = pgPoolConfig(url);
  const main = new PrismaPg(new CatalogPool(poolConfig), { disposeExternalPool: true });
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: () => main.connect(),
    async connectToShadowDb() {
      const database = `coolant_shadow_${randomBytes(8).toString('hex')}`;
      const admin = new pg.Client(poolConfig);
      await admin.connect();
      await admin.query(`CREATE DATABASE "${database}"`);
      await admin.end();
      const adapter = await new PrismaPg(new CatalogPool({ ...poolConfig, database }), {
        disposeExternalPool: true,
      }).connect();
      const dispose = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        await dispose();
        const c = new pg.Client(poolConfig);
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
        await c.end();
      };
      return adapter;
    },
  };
}

export function schemaForProvider(provider: TDbProvider): string {
  return readFileSync(SCHEMA_PATH, 'utf8').replace(/provider\s*=\s*"sqlite"/, `provider = "${provider}"`);
}

export async function withSchemaEngine<T>(config: TDbConfig, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  loadEngineWasm();
  ensureSqliteDir(config);
  const factory = trackConnections(
    config.provider === 'sqlite' ? sqliteMigrationFactory(config.file) : pgMigrationFactory(config.url),
  );
  const logs: string[] = [];
  const { SchemaEngine: Engine } = engineGlue as unknown as { SchemaEngine: typeof SchemaEngine };
  const bound = bindMigrationAwareSqlAdapterFactory(factory);
  const engine = await Engine.new(
    { datamodels: [[SCHEMA_PATH, schemaForProvider(config.provider)]] },
    (line: string) => logs.push(line),
    bound,
  );
  try {
    return await fn(engine);
  } catch (error) {
    // "External error id#N" points into the adapter's registry: surface the real driver error.
    let message = formatEngineError(error);
    message = message.replace(/External error id#(\d+)/g, (m, id: string) => {
      const record = bound.errorRegistry.consumeError(Number(id));
      return record ? `${m}: ${formatEngineError((record as { error: unknown }).error)}` : m;
    });
    if (config.provider === 'sqlite' && /SocketTimeout|database is locked|SQLITE_BUSY/.test(message)) {
      throw new Error(
        `the SQLite database ${config.file} is locked by another process (another console running on it?). SQLite supports one console process; use PostgreSQL for several.`,
        { cause: error },
      );
    }
    throw new Error(`schema engine: ${message}${logs.length ? `\n${logs.slice(-5).join('\n')}` : ''}`, {
      cause: error,
    });
  } finally {
    engine.free();
    // The engine never closes its connections (and takes SQLite's EXCLUSIVE
    // lock), so they are closed here, or the app's own client would hit SQLITE_BUSY.
    await factory.disposeAll();
  }
}

function formatEngineError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error && 'message' in error) return String((error as { message: unknown }).message);
  return JSON.stringify(error);
}

export function loadMigrationList(provider: TDbProvider): MigrationList {
  const baseDir = migrationsDir(provider);
  const lockPath = join(baseDir, 'migration_lock.toml');
  const dirs = existsSync(baseDir)
    ? readdirSync(baseDir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : [];
  return {
    baseDir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: dirs.map((name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok', value: readFileSync(join(baseDir, name, 'migration.sql'), 'utf8') },
      },
    })),
  };
}

/** Applies the committed migrations not yet recorded in `_prisma_migrations`. */
export async function applyMigrations(config: TDbConfig): Promise<string[]> {
  if (config.provider === 'sqlite' && (!existsSync(config.file) || statSync(config.file).size === 0)) {
    // Only a database without tables can switch to incremental auto-vacuum: done before the first
    // migration, so pruning a day's counters can give the space back (PRAGMA incremental_vacuum).
    ensureSqliteDir(config);
    const db = new Database(config.file);
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.close();
  }
  return withSchemaEngine(config, async (engine) => {
    const out = await engine.applyMigrations({
      migrationsList: loadMigrationList(config.provider),
      filters: noFilters,
    });
    return out.appliedMigrationNames;
  });
}

/**
 * SQL that would take the committed migrations to the schema; empty when they
 * match. The migrations are replayed into a shadow database (in-memory SQLite,
 * or a temporary PostgreSQL database the adapter creates and drops).
 */
export async function diffMigrationsToSchema(config: TDbConfig): Promise<{ drift: boolean; sql: string }> {
  return withSchemaEngine(config, async (engine) => {
    const result = await engine.diff({
      from: { tag: 'migrations', ...loadMigrationList(config.provider) },
      to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: schemaForProvider(config.provider) }] },
      script: true,
      exitCode: true,
      filters: noFilters,
    });
    const drift = result.exitCode === 2;
    return { drift, sql: drift ? (result.stdout ?? '').trim() : '' };
  });
}

/** Writes `prisma/migrations/<provider>/<timestamp>_<name>/migration.sql` when the schema moved. */
export async function createMigration(config: TDbConfig, name: string, now = new Date()): Promise<string | null> {
  const lock = join(migrationsDir(config.provider), 'migration_lock.toml');
  if (!existsSync(lock)) {
    mkdirSync(migrationsDir(config.provider), { recursive: true });
    writeFileSync(
      lock,
      `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${config.provider}"\n`,
    );
  }
  const { drift, sql } = await diffMigrationsToSchema(config);
  if (!drift) return null;
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const dir = join(migrationsDir(config.provider), `${stamp}_${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'migration.sql'), `${sql}\n`);
  return dir;
}
