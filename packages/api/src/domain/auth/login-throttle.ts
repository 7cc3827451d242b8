/** Counts failed sign-ins in LoginThrottle so guessing is slowed and refused; see the comment below. */
import { sqliteDate, toPgPlaceholders, type TDb, type TDbProvider } from '@coolant/db';
import type { PruneSchedule } from '../audit/prune-schedule';

/**
 * Failed-login counters in the LoginThrottle table. An attempt is claimed (counted as a
 * failure) in one INSERT … ON CONFLICT statement before the password is checked, and given
 * back when it succeeds: the row lock serialises the claims, so N parallel guesses get no
 * more checks than N serial ones, on SQLite, on PostgreSQL and across console instances.
 *
 * Keys: "ui:<username>|<ip>" refuses with backoff (the guesser's own budget, so an attacker
 * elsewhere cannot lock the owner out); "i:<ip>" refuses an address that sprays many
 * usernames; "u:<username>" only slows (a bounded delay) every attempt on a username under a
 * distributed attack, and never refuses.
 */

/** A key's counts restart this long after its first counted failure. */
export const LOGIN_WINDOW_MS = 60 * 60 * 1000;
/** Failures per (username, IP) before backoff starts. */
export const FREE_FAILURES_PER_USER_IP = 5;
/** Failures per IP, over all usernames, before backoff starts. */
export const FREE_FAILURES_PER_IP = 100;
/** The wait after the budget is spent; doubled by each further failure, up to the cap. */
export const BACKOFF_BASE_MS = 30_000;
export const BACKOFF_MAX_MS = 15 * 60 * 1000;
/** Failures on one username (all IPs) from which every attempt on it is slowed. */
export const USER_SLOW_AFTER_FAILURES = 20;
export const USER_SLOW_STEP_MS = 100;
export const USER_SLOW_MAX_MS = 2_000;
/** Rows idle this long are pruned: their window and any backoff are over (max backoff < window). */
const IDLE_PRUNE_MS = LOGIN_WINDOW_MS;
const PRUNE_EVERY_MS = 60_000;

export type TThrottleDb = { db: TDb; provider: TDbProvider };

export function userIpKey(req: { username: string; ip: string | null }): string {
  return `ui:${req.username}|${req.ip ?? 'unknown'}`;
}
export function ipKey(ip: string | null): string {
  return `i:${ip ?? 'unknown'}`;
}
export function userKey(username: string): string {
  return `u:${username}`;
}

/** Backoff set by the failure that brings a key to `failures` (none below the budget). */
export function backoffMs(req: { failures: number; free: number }): number {
  const { failures, free } = req;
  if (failures < free) return 0;
  return Math.min(BACKOFF_BASE_MS * 2 ** Math.min(failures - free, 30), BACKOFF_MAX_MS);
}

function dialect(provider: TDbProvider) {
  return {
    ts: provider === 'postgresql' ? 'CAST(? AS TIMESTAMP(3))' : '?',
    // Prisma keeps UTC in PostgreSQL's timestamp columns and this text form in SQLite's.
    date: (d: Date) => (provider === 'postgresql' ? d.toISOString() : sqliteDate(d)),
    sql: (s: string) => (provider === 'postgresql' ? toPgPlaceholders(s) : s),
  };
}

/**
 * Counts one failure for `key` unless the key is in backoff, and sets the backoff the count
 * calls for (with `free` null it never backs off). Returns the new count, or null when the
 * key is in backoff and nothing was counted.
 */
export async function claimAttempt(
  req: TThrottleDb & { key: string; free: number | null; now: Date },
): Promise<number | null> {
  const { key, free, now } = req;
  const d = dialect(req.provider);
  const params: unknown[] = [];
  const p = (v: unknown, ts = false) => {
    params.push(v);
    return ts ? d.ts : '?';
  };
  const nowP = () => p(d.date(now), true);
  const cutoff = () => p(d.date(new Date(now.getTime() - LOGIN_WINDOW_MS)), true);
  const T = '"LoginThrottle"';
  const next = () => `(CASE WHEN ${T}."windowStart" < ${cutoff()} THEN 1 ELSE ${T}."failures" + 1 END)`;
  // The backoff is chosen in SQL from the new count, so claim and block are one statement.
  const blockFor = (count: () => string): string => {
    if (free === null) return 'NULL';
    // Placeholders are numbered in the order they are made, so the text is built left to right.
    const head = `CASE WHEN ${count()} < ${free} THEN NULL`;
    const arms: string[] = [];
    for (let n = free; backoffMs({ failures: n, free }) < BACKOFF_MAX_MS; n++)
      arms.push(
        `WHEN ${count()} = ${n} THEN ${p(d.date(new Date(now.getTime() + backoffMs({ failures: n, free }))), true)}`,
      );
    const tail = `ELSE ${p(d.date(new Date(now.getTime() + BACKOFF_MAX_MS)), true)} END`;
    return `(${head} ${arms.join(' ')} ${tail})`;
  };
  const insertValues = `(${p(key)}, 1, ${nowP()}, ${blockFor(() => '1')}, ${nowP()})`;
  const sql =
    `INSERT INTO ${T} ("key", "failures", "windowStart", "blockedUntil", "updatedAt") VALUES ${insertValues} ` +
    `ON CONFLICT ("key") DO UPDATE SET "failures" = ${next()}, ` +
    `"windowStart" = (CASE WHEN ${T}."windowStart" < ${cutoff()} THEN ${nowP()} ELSE ${T}."windowStart" END), ` +
    `"blockedUntil" = ${blockFor(next)}, "updatedAt" = ${nowP()} ` +
    `WHERE ${T}."blockedUntil" IS NULL OR ${T}."blockedUntil" <= ${nowP()} ` +
    `RETURNING "failures"`;
  const rows = await req.db.$queryRawUnsafe<Array<{ failures: number | bigint }>>(d.sql(sql), ...params);
  return rows[0] ? Number(rows[0].failures) : null;
}

/** Undoes one claim (an attempt that turned out not to be a failure, or was refused later on). */
export async function giveBackAttempt(req: { db: TDb; key: string }): Promise<void> {
  const { key } = req;
  await req.db.loginThrottle.updateMany({ where: { key, failures: { gt: 0 } }, data: { failures: { decrement: 1 } } });
}

/** The key's counts are over: the owner of this (username, IP) proved it knows the password. */
export async function clearKey(req: { db: TDb; key: string }): Promise<void> {
  await req.db.loginThrottle.deleteMany({ where: { key: req.key } });
}

/** Seconds until the key's backoff ends (at least 1). */
export async function retryAfterSeconds(req: { db: TDb; key: string; now: Date }): Promise<number> {
  const row = await req.db.loginThrottle.findUnique({ where: { key: req.key }, select: { blockedUntil: true } });
  const ms = row?.blockedUntil ? row.blockedUntil.getTime() - req.now.getTime() : 1000;
  return Math.max(1, Math.ceil(ms / 1000));
}

/** The delay a username's failures (from every IP) put on each attempt on it: bounded, never a refusal. */
export async function userSlowdownMs(req: { db: TDb; username: string; now: Date }): Promise<number> {
  const { now } = req;
  const row = await req.db.loginThrottle.findUnique({
    where: { key: userKey(req.username) },
    select: { failures: true, windowStart: true },
  });
  if (!row || row.windowStart.getTime() < now.getTime() - LOGIN_WINDOW_MS) return 0;
  if (row.failures < USER_SLOW_AFTER_FAILURES) return 0;
  return Math.min((row.failures - USER_SLOW_AFTER_FAILURES + 1) * USER_SLOW_STEP_MS, USER_SLOW_MAX_MS);
}

/** Deletes rows idle past their window; from the login path at most once a minute by `pruning`, at once without it. */
export async function pruneLoginThrottle(req: { db: TDb; now: Date; pruning?: PruneSchedule }): Promise<number> {
  const { now } = req;
  if (req.pruning && !req.pruning.due({ job: 'login-throttle', now, everyMs: PRUNE_EVERY_MS })) return 0;
  const { count } = await req.db.loginThrottle.deleteMany({
    where: { updatedAt: { lt: new Date(now.getTime() - IDLE_PRUNE_MS) } },
  });
  return count;
}
