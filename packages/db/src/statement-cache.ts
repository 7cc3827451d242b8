/**
 * Prepared statements kept by their SQL text, for the two users of a better-sqlite3 connection in
 * this package: the console's own connection (raw.ts) and Prisma's adapter (sqlite-transactions.ts).
 * Preparing parses and plans the text; a kept statement is reused. Bounded, because texts vary
 * (IN lists, row counts): past `max` texts the cache starts again empty.
 */
export function statementCache<S>(prepare: (sql: string) => S, max: number): (sql: string) => S {
  const cache = new Map<string, S>();
  return (sql) => {
    let s = cache.get(sql);
    if (s === undefined) {
      s = prepare(sql);
      if (cache.size >= max) cache.clear();
      cache.set(sql, s);
    }
    return s;
  };
}
