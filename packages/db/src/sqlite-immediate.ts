/**
 * Prisma's SQLite adapter opens every transaction with a plain (deferred) BEGIN. The console also
 * writes the same file through its own connection (admission batches, ingest), so a Prisma
 * transaction that reads first and writes later finds, at its first write, a snapshot older than
 * the other connection's last commit: SQLite answers SQLITE_BUSY_SNAPSHOT at once, without the busy
 * timeout, and Prisma reports "Operation has timed out" (an operator's pause failed that way under
 * admission load). BEGIN IMMEDIATE takes the write lock first, waiting up to the busy timeout, so
 * the transaction's reads and writes see one snapshot that nobody else can move.
 *
 * The adapter has no option for it; this wraps its factory and rewrites the one BEGIN statement
 * its startTransaction prepares. packages/db/test/sqlite-immediate.test.ts fails if an adapter
 * upgrade changes that statement or where it is prepared.
 */
import type { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';

type TFactory = PrismaBetterSqlite3;
type TAdapter = Awaited<ReturnType<TFactory['connect']>>;
type TConnection = { prepare: (sql: string) => unknown };

function isConnection(value: unknown): value is TConnection {
  return typeof value === 'object' && value !== null && typeof Reflect.get(value, 'prepare') === 'function';
}

function beginImmediately(adapter: TAdapter): TAdapter {
  const client: unknown = Reflect.get(adapter, 'client');
  if (!isConnection(client)) {
    throw new Error('@prisma/adapter-better-sqlite3 no longer exposes its connection: see sqlite-immediate.ts');
  }
  const prepare = client.prepare.bind(client);
  client.prepare = (sql: string) => prepare(sql === 'BEGIN' ? 'BEGIN IMMEDIATE' : sql);
  return adapter;
}

/** The same adapter factory, whose transactions begin with BEGIN IMMEDIATE. */
export function withImmediateTransactions(factory: TFactory): TFactory {
  const connect = factory.connect.bind(factory);
  const connectToShadowDb = factory.connectToShadowDb.bind(factory);
  factory.connect = async () => beginImmediately(await connect());
  factory.connectToShadowDb = async () => beginImmediately(await connectToShadowDb());
  return factory;
}
