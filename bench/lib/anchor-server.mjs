#!/usr/bin/env node
// The anchor: bare node:http + rate-limiter-flexible on the same database
// (RateLimiterSQLite on better-sqlite3 in WAL mode, or RateLimiterPostgres).
//   anchor-server.mjs <sqlite|postgresql> <file|url> <port> [normal|full]
// SQLite runs synchronous=NORMAL by default (rate-limiter-flexible's usual setup: in WAL mode a
// commit is not synced, so an answer may be lost with a power cut); `full` syncs every commit,
// which is what Coolant's answers wait for.
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { RateLimiterSQLite, RateLimiterPostgres } = require('rate-limiter-flexible');
const [kind, where, portArg, syncMode = 'normal'] = process.argv.slice(2);
let limiter;
if (kind === 'sqlite') {
  const Database = require('better-sqlite3');
  const db = new Database(where);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${syncMode === 'full' ? 'FULL' : 'NORMAL'}`);
  limiter = new RateLimiterSQLite({
    storeClient: db,
    storeType: 'better-sqlite3',
    tableName: 'rl',
    points: 1_000_000_000,
    duration: 86400,
  });
} else {
  const pg = require('pg');
  const pool = new pg.Pool({ connectionString: where, max: 10 });
  limiter = await new Promise((resolve, reject) => {
    const l = new RateLimiterPostgres(
      { storeClient: pool, tableName: 'rl', points: 1_000_000_000, duration: 86400 },
      (err) => (err ? reject(err) : resolve(l)),
    );
  });
}
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      res.writeHead(400).end();
      return;
    }
    let out;
    try {
      const r = await limiter.consume(`${body.tier}:${body.subject}`, 1);
      out = { allowed: true, remaining: r.remainingPoints };
    } catch (r) {
      if (r instanceof Error) {
        res.writeHead(503).end();
        return;
      }
      out = { allowed: false, remaining: 0 };
    }
    const text = JSON.stringify(out);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portArg), '127.0.0.1', () => console.log('ready'));
