/** Audit rows for failures anyone can cause without credentials, folded so requests cannot grow the table. */
import type { TDb } from '@coolant/db';
import { isUniqueViolation } from '../../lib/unique-violation';
import type { PruneSchedule } from './prune-schedule';

/**
 * Failures anyone can cause without credentials (failed logins, failed enrollments) are folded
 * into one audit row per source and window, with a count, so that sending requests cannot grow
 * the audit table: at most MAX_TARGETS_PER_IP rows per address and MAX_SOURCES rows per action
 * in a window, the rest counted in a "*" row; those rows are pruned after their retention.
 */

export const AGGREGATE_WINDOW_MS = 10 * 60 * 1000;
/** Distinct usernames (hostnames) one address gets rows for per window; more fold into its "*" row. */
export const MAX_TARGETS_PER_IP = 10;
/** Distinct sources one action gets rows for per window; more fold into the window's "*|*" row. */
export const MAX_SOURCES = 200;
export const ANONYMOUS_AUDIT_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60_000;

export type TRecordAnonymousFailureRequest = {
  db: TDb;
  action: string;
  /** The username or hostname the attempt named. */
  target: string;
  reason: string;
  ip: string | null;
  at: Date;
  /** The services' prune schedule (services.pruning). */
  pruning: PruneSchedule;
};

export function aggregateKey(req: { action: string; ip: string; target: string; windowStart: Date }): string {
  return `${req.action}:${req.ip}|${req.target}:${req.windowStart.toISOString()}`;
}

/** Adds one to the row of key; false when it does not exist yet. */
async function bump(db: TDb, key: string, at: Date): Promise<boolean> {
  const { count } = await db.auditEvent.updateMany({
    where: { aggregateKey: key },
    data: { count: { increment: 1 }, at },
  });
  return count > 0;
}

/** Which row an attempt from a source not seen yet in this window goes to. */
async function chooseSource(
  req: TRecordAnonymousFailureRequest,
  ip: string,
  windowStart: Date,
): Promise<{ ip: string; target: string }> {
  const inWindow = { action: req.action, aggregateKey: { not: null }, at: { gte: windowStart } };
  const [bySource, all] = await Promise.all([
    req.db.auditEvent.count({ where: { ...inWindow, ip: req.ip } }),
    req.db.auditEvent.count({ where: inWindow }),
  ]);
  if (all >= MAX_SOURCES) return { ip: '*', target: '*' };
  if (bySource >= MAX_TARGETS_PER_IP) return { ip, target: '*' };
  return { ip, target: req.target };
}

export async function recordAnonymousFailure(req: TRecordAnonymousFailureRequest): Promise<void> {
  await pruneAnonymousAudit({ db: req.db, now: req.at, pruning: req.pruning });
  const windowStart = new Date(Math.floor(req.at.getTime() / AGGREGATE_WINDOW_MS) * AGGREGATE_WINDOW_MS);
  const ip = req.ip ?? 'unknown';
  if (await bump(req.db, aggregateKey({ action: req.action, ip, target: req.target, windowStart }), req.at)) return;
  const source = await chooseSource(req, ip, windowStart);
  const key = aggregateKey({ action: req.action, ip: source.ip, target: source.target, windowStart });
  if (await bump(req.db, key, req.at)) return;
  try {
    await req.db.auditEvent.create({
      data: {
        actorType: 'anonymous',
        actorId: null,
        actorName: 'anonymous',
        action: req.action,
        target: source.target,
        reason: source.target === '*' ? 'several targets (folded)' : req.reason,
        details: JSON.stringify({ windowStart: windowStart.toISOString(), firstAt: req.at.toISOString() }),
        ip: source.ip === 'unknown' ? null : source.ip,
        at: req.at,
        count: 1,
        aggregateKey: key,
      },
    });
  } catch (error) {
    // A parallel first attempt created the row between our update and insert: count on it.
    if (!isUniqueViolation(error) || !(await bump(req.db, key, req.at))) throw error;
  }
}

/** Deletes aggregated anonymous rows past their retention; at most once a minute by `pruning`, at once without it. */
export async function pruneAnonymousAudit(req: { db: TDb; now: Date; pruning?: PruneSchedule }): Promise<number> {
  const { db, now } = req;
  if (req.pruning && !req.pruning.due({ job: 'anonymous-audit', now, everyMs: PRUNE_EVERY_MS })) return 0;
  const { count } = await db.auditEvent.deleteMany({
    where: { aggregateKey: { not: null }, at: { lt: new Date(now.getTime() - ANONYMOUS_AUDIT_RETENTION_MS) } },
  });
  return count;
}
