/**
 * src/sqlite-transactions.ts: a Prisma transaction that reads and then writes, while the console's
 * own SQLite connection keeps committing (as admission and ingest do), must not fail with
 * SQLITE_BUSY_SNAPSHOT ("Operation has timed out"); and a query that is not part of an open
 * transaction must neither see its uncommitted rows nor be rolled back with it.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPrismaClient, type TDb } from '../src/client';
import { createTestDb, type TTestDb } from '../src/testing/database';

let t: TTestDb;
let db: TDb;

beforeAll(async () => {
  t = await createTestDb('sqlite');
  db = t.db;
});
afterAll(async () => {
  await t?.cleanup();
});

it('read-then-write transactions succeed while another connection commits between their statements', async () => {
  if (t.config.provider !== 'sqlite') throw new Error('sqlite only');
  const other = new Database(t.config.file);
  other.pragma('journal_mode = WAL');
  // As the console's raw connection: never wait inside a synchronous call (it would block the event
  // loop the Prisma transaction needs to finish); a busy write is counted and tried again later.
  other.pragma('busy_timeout = 0');
  const write = other.prepare(
    "INSERT INTO Setting (key, value, updatedAt) VALUES (?, 'x', datetime('now')) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  );
  let otherCommits = 0;
  let otherBusy = 0;
  const timer = setInterval(() => {
    try {
      write.run(`other-${otherCommits % 10}`);
      otherCommits++;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
      otherBusy++;
    }
  }, 0);
  const failures: string[] = [];
  try {
    for (let i = 0; i < 60; i++) {
      try {
        await db.$transaction(async (tx) => {
          const before = await tx.setting.findUnique({ where: { key: 'counter' } });
          // Let the other connection commit between this transaction's read and its write.
          await new Promise((r) => setTimeout(r, 2));
          await tx.setting.upsert({
            where: { key: 'counter' },
            create: { key: 'counter', value: '1' },
            update: { value: String(Number(before?.value ?? 0) + 1) },
          });
        });
      } catch (error) {
        failures.push((error as Error).message.split('\n').pop() ?? String(error));
      }
      // Room for the other connection between transactions (inside one it now waits).
      await new Promise((r) => setTimeout(r, 3));
    }
  } finally {
    clearInterval(timer);
    other.close();
  }
  console.log(
    `[sqlite-immediate] other connection: ${otherCommits} commits, ${otherBusy} busy; failures ${failures.length}`,
  );
  expect(otherCommits, 'the other connection committed meanwhile').toBeGreaterThan(20);
  expect(failures).toEqual([]);
  // And the read-modify-write was exact: no increment lost to an interleaved commit.
  expect((await db.setting.findUnique({ where: { key: 'counter' } }))?.value).toBe('60');
});

it('a write made while another request holds a transaction open survives that transaction rolling back', async () => {
  let inside!: () => void;
  const entered = new Promise<void>((r) => (inside = r));
  const failing = db
    .$transaction(async (tx) => {
      await tx.setting.create({ data: { key: 'tx-row', value: 'uncommitted' } });
      inside();
      // Another request is served while this one waits on something (a hash, a lookup).
      await new Promise((r) => setTimeout(r, 150));
      throw new Error('refused after its first write');
    })
    .catch((error: Error) => error.message);
  await entered;
  // Not part of the transaction: must not see its row, and must not be undone by its rollback.
  const seen = await db.setting.findUnique({ where: { key: 'tx-row' } });
  await db.setting.create({ data: { key: 'outside-row', value: 'committed' } });
  expect(await failing).toBe('refused after its first write');
  expect(seen).toBeNull();
  expect(await db.setting.findUnique({ where: { key: 'tx-row' } })).toBeNull();
  expect((await db.setting.findUnique({ where: { key: 'outside-row' } }))?.value).toBe('committed');
});

it('transactions that commit, fail and time out leave the connection usable for the next', async () => {
  await db.$transaction(async (tx) => {
    await tx.setting.create({ data: { key: 'committed-1', value: '1' } });
  });
  await expect(
    db.$transaction(
      async (tx) => {
        await tx.setting.create({ data: { key: 'timed-out', value: '1' } });
        await new Promise((r) => setTimeout(r, 400));
        await tx.setting.create({ data: { key: 'timed-out-2', value: '1' } });
      },
      { timeout: 100 },
    ),
  ).rejects.toThrow();
  await db.$transaction([db.setting.create({ data: { key: 'batch-1', value: '1' } })]);
  const keys = (await db.setting.findMany({ where: { key: { in: ['committed-1', 'timed-out', 'batch-1'] } } })).map(
    (r) => r.key,
  );
  expect(keys.sort()).toEqual(['batch-1', 'committed-1']);
});

it('a transaction that cannot get the write lock in time fails without freezing the server, and the next ones run', async () => {
  if (t.config.provider !== 'sqlite') throw new Error('sqlite only');
  // Its own client with a short busy timeout, so the test does not wait the console's 5 s.
  const short = createPrismaClient(t.config, { sqliteBusyTimeoutMs: 300 });
  const other = new Database(t.config.file);
  try {
    // Another writer (a sqlite3 shell, a long delete, a second console migrating) holds the lock.
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = Date.now();
    const refused = await short
      .$transaction(async (tx) => tx.setting.create({ data: { key: 'busy-1', value: '1' } }))
      .then(
        () => 'committed',
        (error: Error) => error.message,
      );
    const waited = Date.now() - started;
    clearInterval(timer);
    expect(refused).not.toBe('committed');
    expect(waited).toBeGreaterThanOrEqual(280);
    // The event loop ran meanwhile (the old adapter's synchronous busy wait stopped it).
    expect(ticks).toBeGreaterThan(waited / 10 / 3);
    // Released within the busy timeout: the transaction waits for it and commits.
    other.exec('COMMIT');
    other.exec('BEGIN IMMEDIATE');
    setTimeout(() => other.exec('COMMIT'), 100);
    await short.$transaction(async (tx) => tx.setting.create({ data: { key: 'busy-2', value: '1' } }));
    expect(await short.setting.count({ where: { key: { in: ['busy-1', 'busy-2'] } } })).toBe(1);
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await short.$disconnect();
  }
});

it('prepares each statement text once and answers with the arguments of each call', async () => {
  if (t.config.provider !== 'sqlite') throw new Error('sqlite only');
  // Counted on better-sqlite3 itself, under the adapter: a client created after the patch uses it.
  const prepared = new Map<string, number>();
  const original = Database.prototype.prepare;
  Database.prototype.prepare = function (this: Database.Database, sql: string) {
    prepared.set(sql, (prepared.get(sql) ?? 0) + 1);
    return original.call(this, sql);
  } as typeof original;
  const client = createPrismaClient(t.config);
  try {
    for (let i = 0; i < 20; i++) await client.setting.create({ data: { key: `cached-${i}`, value: String(i) } });
    for (let i = 0; i < 20; i++)
      expect((await client.setting.findUnique({ where: { key: `cached-${i}` } }))?.value).toBe(String(i));
    await client.$transaction(async (tx) => tx.setting.update({ where: { key: 'cached-3' }, data: { value: 'x' } }));
    expect(await client.setting.count({ where: { key: { startsWith: 'cached-' } } })).toBe(20);
    expect((await client.setting.findUnique({ where: { key: 'cached-3' } }))?.value).toBe('x');
    const settings = [...prepared].filter(([sql]) => sql.includes('`Setting`'));
    expect(settings.length).toBeGreaterThanOrEqual(3);
    // 20 inserts and 21 reads of the same texts: each text prepared once.
    for (const [sql, n] of settings) expect(n, sql).toBe(1);
  } finally {
    Database.prototype.prepare = original;
    await client.$disconnect();
  }
});
