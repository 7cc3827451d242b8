import { closeSync, fdatasync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { TDbConfig } from './config';
import { statementCache } from './statement-cache';

export type TRawStatement = { sql: string; params: unknown[] };
export type TRawRow = Record<string, unknown>;

/**
 * Direct SQL for the admission hot path. Measured on the 2-core reference
 * machine: a 16-row counter upsert in one transaction takes ~0.15 ms through
 * better-sqlite3 and ~7 ms through Prisma's batch transaction, and Prisma's
 * interactive transactions cost several round trips more on PostgreSQL. The
 * Prisma client stays the one client for everything else.
 */
export type TSqliteTx = {
  run(sql: string, params?: unknown[]): { changes: number };
  all(sql: string, params?: unknown[]): TRawRow[];
};

export type TSqliteRaw = {
  kind: 'sqlite';
  /** Runs fn in one IMMEDIATE transaction, synchronously; SqliteBusyError as for batch(). */
  transaction<T>(fn: (tx: TSqliteTx) => T): T;
  /**
   * Runs the statements in one IMMEDIATE transaction, synchronously. Never
   * waits for a lock (that would block the event loop that the Prisma
   * connection holding the lock needs to finish): throws SqliteBusyError
   * instead, and the caller retries a moment later.
   */
  batch(statements: TRawStatement[]): void;
  /**
   * As transaction(), but the commit does not wait for the disk (synchronous=NORMAL for this one
   * commit): the caller answers only after syncWal(). The event loop is not blocked for the sync.
   */
  transactionUnsynced<T>(fn: (tx: TSqliteTx) => T): T;
  /**
   * Resolves once everything committed before the call is on disk: one fsync of the WAL (what
   * synchronous=FULL does at each commit), in the thread pool, shared by every caller waiting.
   */
  syncWal(): Promise<void>;
  all(sql: string, params?: unknown[]): TRawRow[];
  exec(sql: string): void;
  close(): void;
};

/**
 * `name` makes it a named prepared statement: parsed and planned once per pooled connection
 * instead of at every call (for the few fixed statements of a hot path; a name must always
 * stand for the same text).
 */
export type TPgQuery = (sql: string, params?: unknown[], name?: string) => Promise<TRawRow[]>;

export type TPgRaw = {
  kind: 'postgresql';
  /** Connections this pool may open (on demand): the admission batcher sizes its batches in flight by it. */
  poolSize: number;
  query: TPgQuery;
  /** BEGIN … COMMIT on one pooled connection; ROLLBACK when fn throws. */
  transaction<T>(fn: (query: TPgQuery) => Promise<T>): Promise<T>;
  close(): Promise<void>;
};

export class SqliteBusyError extends Error {
  override name = 'SqliteBusyError';
}

/** SQLite DATETIME text in the format Prisma's SQLite adapter writes and reads. */
export function sqliteDate(d: Date): string {
  return d.toISOString().replace('Z', '+00:00');
}

export function openRawSql(config: TDbConfig, opts: { poolSize?: number } = {}): TSqliteRaw | TPgRaw {
  if (config.provider === 'sqlite') {
    const db = new Database(config.file);
    db.pragma('journal_mode = WAL');
    // An admission answer (and an ingest acknowledgement, after which the agent deletes its samples) is
    // given after the commit: FULL syncs the WAL at each commit, so a power loss cannot roll back what
    // was answered. NORMAL would sync only at checkpoints. Group commit keeps the cost to one sync per batch.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 0');
    // The WAL shrinks back after a checkpoint instead of keeping its peak size.
    db.pragma('journal_size_limit = 67108864');
    const prepare = statementCache((sql: string) => db.prepare(sql), 200);
    const run = db.transaction((statements: TRawStatement[]) => {
      for (const st of statements) prepare(st.sql).run(...(st.params as unknown[]));
    });
    const txApi: TSqliteTx = {
      run: (sql, params = []) => ({ changes: prepare(sql).run(...(params as unknown[])).changes }),
      all: (sql, params = []) => prepare(sql).all(...(params as unknown[])) as TRawRow[],
    };
    const generic = db.transaction((fn: (tx: TSqliteTx) => unknown) => fn(txApi));
    const busy = (error: unknown): never => {
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw new SqliteBusyError('database is busy');
      throw error;
    };
    // Group sync: a caller arriving while an fsync runs waits for the next one, which starts after its commit.
    let walFd: number | null = null;
    let syncing = false;
    let waiting: { resolve(): void; reject(e: unknown): void }[] = [];
    const startSync = () => {
      const batch = waiting;
      waiting = [];
      syncing = true;
      const done = (error: unknown) => {
        syncing = false;
        for (const w of batch) {
          if (error) w.reject(error);
          else w.resolve();
        }
        if (waiting.length > 0) startSync();
      };
      try {
        // The WAL keeps its inode while this connection is open (reset and truncation keep the file).
        walFd ??= openSync(`${config.file}-wal`, 'r+');
      } catch (error) {
        done(error);
        return;
      }
      // What SQLite itself calls on Linux for synchronous=FULL: the data and the size, not the times.
      fdatasync(walFd, done);
    };
    return {
      kind: 'sqlite',
      transactionUnsynced<T>(fn: (tx: TSqliteTx) => T): T {
        // exec, not db.pragma(): the same pragma without a Statement object prepared and read each
        // time (about a quarter of the cost, measured; the mode switch runs on every batch).
        db.exec('PRAGMA synchronous = NORMAL');
        try {
          return generic.immediate(fn as (tx: TSqliteTx) => unknown) as T;
        } catch (error) {
          return busy(error);
        } finally {
          db.exec('PRAGMA synchronous = FULL');
        }
      },
      syncWal() {
        return new Promise<void>((resolve, reject) => {
          waiting.push({ resolve, reject });
          if (!syncing) startSync();
        });
      },
      batch(statements) {
        try {
          run.immediate(statements);
        } catch (error) {
          busy(error);
        }
      },
      transaction<T>(fn: (tx: TSqliteTx) => T): T {
        try {
          return generic.immediate(fn as (tx: TSqliteTx) => unknown) as T;
        } catch (error) {
          return busy(error);
        }
      },
      all: (sql, params = []) => prepare(sql).all(...(params as unknown[])) as TRawRow[],
      exec: (sql) => void db.exec(sql),
      close: () => {
        if (walFd !== null) closeSync(walFd);
        walFd = null;
        db.close();
      },
    };
  }
  // Prisma stores DateTime as UTC in timestamp columns; raw statements must read and write them the same way.
  // Set at connection start-up, not with a query from the 'connect' event: that one raced the pool's
  // first query on the new client (pg's "already executing a query" deprecation warning).
  // 16: the admission batcher keeps up to 14 batches in flight, each on its own connection (see
  // pg-batcher.ts for the measurement); connections are opened on demand, so a quiet console holds few.
  const poolSize = opts.poolSize ?? 16;
  const pool = new pg.Pool({ connectionString: config.url, max: poolSize, options: '-c TimeZone=UTC' });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return {
    kind: 'postgresql',
    poolSize,
    query: async (sql, params = [], name) =>
      (await pool.query(name ? { name, text: sql, values: params } : { text: sql, values: params })).rows as TRawRow[],
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(
          async (sql, params = [], name) =>
            (await client.query(name ? { name, text: sql, values: params } : { text: sql, values: params }))
              .rows as TRawRow[],
        );
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Retries a synchronous SQLite write that found the database locked, with
 * short async waits, so the event loop (and whoever holds the lock) runs.
 */
export async function withBusyRetry<T>(fn: () => T, maxWaitMs = 5_000): Promise<T> {
  const deadline = Date.now() + maxWaitMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof SqliteBusyError) || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** `?` placeholders to PostgreSQL's `$1, $2, …` (the statements here have no `?` inside literals). */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
