import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client/client.ts';
import { PrismaClient as PgClient } from '../generated/postgresql/client/client.ts';
import { ensureSqliteDir, type TDbConfig } from './config';
import { withSqliteTransactions } from './sqlite-transactions';

/**
 * Both generated clients expose the same model API (the PostgreSQL schema is
 * derived from the SQLite one), so the rest of the code is typed against one.
 */
export type TDb = SqliteClient;
export type TDbTx = Parameters<Parameters<TDb['$transaction']>[0]>[0];

export type TDbHandle = { db: TDb; config: TDbConfig };

/** Milliseconds SQLite waits for a lock before failing with SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

export function createPrismaClient(config: TDbConfig, opts: { sqliteBusyTimeoutMs?: number } = {}): TDb {
  if (config.provider === 'sqlite') {
    ensureSqliteDir(config);
    const busyTimeoutMs = opts.sqliteBusyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_MS;
    const adapter = withSqliteTransactions(new PrismaBetterSqlite3({ url: config.file, timeout: busyTimeoutMs }), {
      busyTimeoutMs,
    });
    return new SqliteClient({ adapter });
  }
  const adapter = new PrismaPg({ connectionString: config.url, max: 10 });
  // Same models, rows and transaction options as TDb: proven by client-parity.ts, which fails to compile otherwise.
  return new PgClient({ adapter }) as TDb;
}

/** SQLite settings applied once per connection: WAL lets readers proceed during writes. */
export async function tuneSqlite(db: TDb, config: TDbConfig): Promise<void> {
  if (config.provider !== 'sqlite') return;
  await db.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await db.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
  await db.$queryRawUnsafe('PRAGMA foreign_keys = ON');
}

type TGlobalDb = { __coolantDb?: TDbHandle };

/**
 * One client per process. The cache lives on globalThis so Next's hot reload
 * and the custom server share it instead of opening a client per module.
 */
export function getDb(config: TDbConfig): TDb {
  const g = globalThis as TGlobalDb;
  if (g.__coolantDb) {
    if (g.__coolantDb.config.url !== config.url) {
      throw new Error('getDb: this process already has a client for another database');
    }
    return g.__coolantDb.db;
  }
  const db = createPrismaClient(config);
  g.__coolantDb = { db, config };
  return db;
}

export async function closeDb(): Promise<void> {
  const g = globalThis as TGlobalDb;
  const handle = g.__coolantDb;
  delete g.__coolantDb;
  await handle?.db.$disconnect();
}
