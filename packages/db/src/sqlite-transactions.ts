/**
 * Three fixes to how Prisma's SQLite adapter uses its one better-sqlite3 connection; the adapter has
 * an option for none, so this wraps its factory (packages/db/test/sqlite-transactions.test.ts
 * fails if an adapter upgrade changes what is wrapped).
 *
 * 1. Transactions begin IMMEDIATE. The adapter opens them with a plain (deferred) BEGIN. The console
 *    also writes the same file through its own connection (admission batches, ingest), so a Prisma
 *    transaction that reads first and writes later found, at its first write, a snapshot older than
 *    the other connection's last commit: SQLite answers SQLITE_BUSY_SNAPSHOT at once, without the
 *    busy timeout, and Prisma reports "Operation has timed out" (an operator's pause failed that way
 *    under admission load). BEGIN IMMEDIATE takes the write lock first, waiting up to the busy
 *    timeout, so the transaction's reads and writes see one snapshot nobody else can move. It is
 *    begun here, polled with async sleeps: the adapter's own BEGIN, had it failed busy, would have
 *    kept the adapter's private lock and stopped every later query.
 *
 * 2. One user of the connection at a time. The adapter's own mutex orders transactions among
 *    themselves only: a query that is not part of the open interactive transaction (another request
 *    being served meanwhile) ran on the same connection inside it, saw its uncommitted rows, and was
 *    rolled back with it when it failed, after its caller had been told it succeeded. Here every
 *    query outside a transaction waits until the open transaction commits or rolls back.
 *    (Code that queries the outer client from inside its own transaction would now wait for that
 *    transaction's timeout: always use the transaction's client there.)
 *
 * 3. Each statement text is prepared once. The adapter prepares every query anew (better-sqlite3's
 *    prepare parses and plans it: 3.7-6.1 % of the console's CPU with 1,000 agents reporting, in a
 *    profile of bench/fleet-page.ts) and binds the arguments to that statement for good. Here the
 *    prepared statements are kept (a bounded cache), and what the adapter gets back passes its
 *    arguments at each use instead of binding them.
 */
import type { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { statementCache } from './statement-cache';

type TFactory = PrismaBetterSqlite3;
type TAdapter = Awaited<ReturnType<TFactory['connect']>>;
type TConnection = { prepare: (sql: string) => unknown };

/** What the adapter uses of a better-sqlite3 statement (the test fails if it starts using more). */
type TStatement = {
  reader: boolean;
  run(...args: unknown[]): unknown;
  all(...args: unknown[]): unknown[];
  columns(): unknown[];
  raw(toggle?: boolean): TStatement;
};

/** Statements kept per connection; Prisma's texts vary with IN-list lengths, so the set is bounded. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * A prepare() that returns the statement prepared before for the same text, wrapped so the
 * adapter's `.bind(args)` (which better-sqlite3 allows once per statement) hands the arguments to
 * each call instead. One user of the connection at a time (fix 2), and every call runs to the end
 * synchronously (no iterators), so a kept statement is never in use twice.
 */
function cachedPrepare(prepare: (sql: string) => TStatement): (sql: string) => unknown {
  const kept = statementCache(prepare, STATEMENT_CACHE_SIZE);
  return (sql) => {
    const s = kept(sql);
    return {
      reader: s.reader,
      run: () => s.run(),
      bind: (args: unknown[]) => ({
        reader: s.reader,
        run: () => s.run(args),
        columns: () => s.columns(),
        raw: () => ({ all: () => s.raw(true).all(args) }),
      }),
    };
  };
}

function isConnection(value: unknown): value is TConnection {
  return typeof value === 'object' && value !== null && typeof Reflect.get(value, 'prepare') === 'function';
}

/** A FIFO lock: `acquire` resolves with the function that releases it. */
function createLock(): () => Promise<() => void> {
  let tail: Promise<void> = Promise.resolve();
  return () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const acquired = tail.then(() => release);
    tail = tail.then(() => released);
    return acquired;
  };
}

function wrapAdapter(adapter: TAdapter, busyTimeoutMs: number): TAdapter {
  const client: unknown = Reflect.get(adapter, 'client');
  if (!isConnection(client)) {
    throw new Error('@prisma/adapter-better-sqlite3 no longer exposes its connection: see sqlite-transactions.ts');
  }
  const prepare = client.prepare.bind(client);
  const kept = cachedPrepare(prepare as (sql: string) => TStatement);
  // The adapter's own BEGIN becomes a no-op: beginImmediately() below has begun the transaction. Were
  // the adapter to run it and fail (busy), it would keep its private lock and no query would run again.
  client.prepare = (sql: string) => kept(sql === 'BEGIN' ? 'SELECT 1' : sql);
  const run = (sql: string) => (prepare(sql) as { run(): unknown }).run();
  const toDriverError = (error: unknown): never => {
    const onError: unknown = Reflect.get(adapter, 'onError');
    if (typeof onError === 'function') onError.call(adapter, error);
    throw error;
  };

  /**
   * BEGIN IMMEDIATE, waiting for another connection's write lock without blocking the event loop:
   * tried with no busy wait, then again after short sleeps until the busy timeout has passed (the
   * connection's own busy timeout would make better-sqlite3 wait synchronously, freezing the server).
   */
  async function beginImmediately(): Promise<void> {
    const deadline = Date.now() + busyTimeoutMs;
    run('PRAGMA busy_timeout = 0');
    try {
      for (let waitMs = 1; ; waitMs = Math.min(waitMs * 2, 25)) {
        try {
          run('BEGIN IMMEDIATE');
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) toDriverError(error);
        }
        await new Promise((r) => setTimeout(r, waitMs));
      }
    } finally {
      run(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    }
  }

  const acquire = createLock();
  const exclusive =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const release = await acquire();
      try {
        return await fn(...args);
      } finally {
        release();
      }
    };
  adapter.queryRaw = exclusive(adapter.queryRaw.bind(adapter));
  adapter.executeRaw = exclusive(adapter.executeRaw.bind(adapter));
  adapter.executeScript = exclusive(adapter.executeScript.bind(adapter));
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) => {
    const release = await acquire();
    try {
      await beginImmediately();
      let tx;
      try {
        tx = await startTransaction(isolationLevel);
      } catch (error) {
        run('ROLLBACK');
        throw error;
      }
      // The engine sends COMMIT or ROLLBACK through the transaction, then calls one of these.
      const commit = tx.commit.bind(tx);
      const rollback = tx.rollback.bind(tx);
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        release();
      };
      tx.commit = () => commit().finally(finish);
      tx.rollback = () => rollback().finally(finish);
      return tx;
    } catch (error) {
      release();
      throw error;
    }
  };
  return adapter;
}

/**
 * The same adapter factory: transactions begin IMMEDIATE (waiting up to busyTimeoutMs for another
 * connection's write lock, without blocking the event loop), and nothing else runs while one is open.
 */
export function withSqliteTransactions(factory: TFactory, opts: { busyTimeoutMs: number }): TFactory {
  const connect = factory.connect.bind(factory);
  const connectToShadowDb = factory.connectToShadowDb.bind(factory);
  factory.connect = async () => wrapAdapter(await connect(), opts.busyTimeoutMs);
  factory.connectToShadowDb = async () => wrapAdapter(await connectToShadowDb(), opts.busyTimeoutMs);
  return factory;
}
