/** Builds the process-wide services object once at start-up (one per server), and stops it. */
import { hostname } from 'node:os';
import {
  createNotifier,
  openRawSql,
  sqliteDate,
  withBusyRetry,
  type TDb,
  type TDbConfig,
  type TSqliteRaw,
} from '@coolant/db';
import type { TServices } from './context';
import { AdmissionService } from './domain/admission/admission-service';
import { ConfigSync, INSTANCE_LIVE_MS } from './domain/admission/config-sync';
import { PruneSchedule } from './domain/audit/prune-schedule';
import { CredentialCache } from './domain/auth/credential-cache';
import { FleetService, type TRetention } from './domain/fleet/fleet-service';
import { GuardService } from './domain/guard/guard-service';
import { NotificationService, type TNotificationOptions } from './domain/notifications/notification-service';
import { CapacityService } from './domain/capacity/capacity-service';
import { DEFAULT_OFFLINE_AFTER_MS } from './domain/fleet/node-status';
import { SmokeService } from './domain/smoke/smoke-service';
import { seedTiers } from './domain/tiers/seed-tiers';
import { AppError } from './lib/app-error';
import { systemNow } from './lib/clock';

export type TStartServicesOptions = {
  db: TDb;
  dbConfig: TDbConfig;
  version: string;
  enrollmentSecret(): Promise<string>;
  log?: (msg: string) => void;
  /** Timers for stats, pruning and scheduled resumes (off in unit tests that drive them by hand). */
  background?: boolean;
  now?: () => Date;
  retention?: TRetention;
  /** A node with no report for this long is offline (default 2 min). */
  offlineAfterMs?: number;
  /** How long a known Bearer credential is trusted without a lookup (default CREDENTIAL_CACHE_MS). */
  credentialCacheMs?: number;
  /** Guard webhook retry base delay (tests shorten it). */
  webhookBaseDelayMs?: number;
  /** Notification delivery: tick, Alertmanager re-send and hold, backoff, timeout, public URL (tests shorten them). */
  notifications?: TNotificationOptions;
};

export type TRunningServices = TServices & { stop(): Promise<void> };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An SQLite database has one owner: its counters live in that process's
 * memory. A second console on the same file would decide on stale counts,
 * so it refuses to start and says what to do instead.
 *
 * The check and the claim (this instance's row, which ConfigSync then keeps
 * heartbeating) happen in one IMMEDIATE transaction: SQLite's write lock
 * serializes two consoles starting at the same moment, so the second one sees
 * the first one's row. A console that crashed leaves a row that stops counting
 * once its heartbeat is older than INSTANCE_LIVE_MS, or at once when its pid is
 * gone on this host.
 */
async function claimSqliteDatabase(raw: TSqliteRaw, instanceId: string, now: Date): Promise<void> {
  const here = hostname();
  const other = await withBusyRetry(
    () =>
      raw.transaction((tx) => {
        const rows = tx.all('SELECT "id", "hostname", "pid", "heartbeatAt" FROM "Instance"') as {
          id: string;
          hostname: string;
          pid: number;
          heartbeatAt: string | number;
        }[];
        const live = rows.filter((i) => new Date(i.heartbeatAt).getTime() >= now.getTime() - INSTANCE_LIVE_MS);
        const found = live.find(
          (i) =>
            i.id !== instanceId && !(i.hostname === here && (Number(i.pid) === process.pid || !alive(Number(i.pid)))),
        );
        if (found) return found;
        const at = sqliteDate(now);
        tx.run(
          `INSERT INTO "Instance" ("id", "hostname", "pid", "startedAt", "heartbeatAt", "configVersion", "appliedAt") VALUES (?, ?, ?, ?, ?, 0, ?)
           ON CONFLICT ("id") DO UPDATE SET "heartbeatAt" = excluded."heartbeatAt"`,
          [instanceId, here, process.pid, at, at, at],
        );
        return null;
      }),
    15_000,
  );
  if (other) {
    throw new AppError(
      'CONFLICT',
      `another console (pid ${other.pid} on ${other.hostname}) is using this SQLite database; SQLite supports one console process. ` +
        'Stop it, or use PostgreSQL (DATABASE_URL=postgresql://…) to run several instances.',
    );
  }
}

export async function startServices(opts: TStartServicesOptions): Promise<TRunningServices> {
  const now = opts.now ?? systemNow;
  const log = opts.log ?? (() => {});
  const raw = openRawSql(opts.dbConfig);
  const notifier = createNotifier(opts.dbConfig, log);
  const config = new ConfigSync({ db: opts.db, provider: opts.dbConfig.provider, notifier, now, log });
  if (raw.kind === 'sqlite') {
    try {
      await claimSqliteDatabase(raw, config.instanceId, now());
    } catch (error) {
      raw.close();
      throw error;
    }
  }
  const offlineAfterMs = opts.offlineAfterMs ?? DEFAULT_OFFLINE_AFTER_MS;
  const credentials = new CredentialCache(
    opts.credentialCacheMs === undefined ? {} : { knownMs: opts.credentialCacheMs },
  );
  await seedTiers({ db: opts.db });
  // A version change may carry a revocation: cached credentials are re-checked.
  config.onApply(() => credentials.clear());
  await config.start();
  const admission = new AdmissionService({
    db: opts.db,
    raw,
    sync: config,
    now,
    log,
    background: opts.background ?? true,
  });
  await admission.start();
  const fleet = new FleetService({
    db: opts.db,
    raw,
    now,
    log,
    offlineAfterMs,
    ...(opts.retention ? { retention: opts.retention } : {}),
  });
  fleet.start(opts.background ?? true);
  const smoke = new SmokeService({ db: opts.db, now, log, offlineAfterMs });
  smoke.start(opts.background ?? true);
  const guard = new GuardService({
    db: opts.db,
    config,
    now,
    log,
    offlineAfterMs,
    ...(opts.webhookBaseDelayMs !== undefined ? { webhookBaseDelayMs: opts.webhookBaseDelayMs } : {}),
  });
  guard.start(opts.background ?? true);
  // Issue 13: keeps the one CapacitySnapshot every instance applies fresh (<= 2 s) and its history.
  const capacity = new CapacityService({ db: opts.db, now, instanceId: config.instanceId, offlineAfterMs, log });
  capacity.start(opts.background ?? true);
  // Issue 14: fleet alerts and guard steps pushed to Alertmanager and the webhook, by one instance.
  const notifications = new NotificationService({
    db: opts.db,
    instanceId: config.instanceId,
    now,
    log,
    ...(opts.notifications ? { options: opts.notifications } : {}),
  });
  notifications.start(opts.background ?? true);
  return {
    db: opts.db,
    dbProvider: opts.dbConfig.provider,
    version: opts.version,
    enrollmentSecret: opts.enrollmentSecret,
    now,
    credentials,
    offlineAfterMs,
    pruning: new PruneSchedule(),
    config,
    admission,
    fleet,
    smoke,
    guard,
    notifications,
    async stop() {
      await notifications.stop();
      await capacity.stop();
      await guard.stop();
      smoke.stop();
      fleet.stop();
      await admission.stop();
      await config.stop();
      if (raw.kind === 'sqlite') raw.close();
      else await raw.close();
    },
  };
}
