/** The types of the tRPC context: the services object plus who is calling and the request's cookies. */
import type { TDb, TDbProvider } from '@coolant/db';
import type { AdmissionService } from './domain/admission/admission-service';
import type { ConfigSync } from './domain/admission/config-sync';
import type { PruneSchedule } from './domain/audit/prune-schedule';
import type { CredentialCache } from './domain/auth/credential-cache';
import type { FleetService } from './domain/fleet/fleet-service';
import type { GuardService } from './domain/guard/guard-service';
import type { NotificationService } from './domain/notifications/notification-service';
import type { SmokeService } from './domain/smoke/smoke-service';
import type { TActor } from './domain/actors/actor';

// The actor types are the domain's (domain/actors/actor.ts); re-exported for the transport's callers.
export type { TActor };

export type TCookieJar = {
  setSession(value: string, maxAgeSeconds: number): void;
  clearSession(): void;
};

export type TRequestInfo = {
  ip: string | null;
  userAgent: string | null;
};

/** Process-wide things the procedures need, built once at start-up. */
export type TServices = {
  db: TDb;
  dbProvider: TDbProvider;
  version: string;
  /** Returns the current enrollment secret (from env, or generated and stored). */
  enrollmentSecret(): Promise<string>;
  now(): Date;
  /** This server's cached credentials and "last used" writes (never shared with another services object). */
  credentials: CredentialCache;
  /** A node with no report for this long is offline (COOLANT_NODE_OFFLINE_AFTER_SECONDS). */
  offlineAfterMs: number;
  /** When this server last pruned its request-path tables (failed logins, anonymous audit rows). */
  pruning: PruneSchedule;
  /** This instance's copy of the admission config, kept current across instances. */
  config: ConfigSync;
  admission: AdmissionService;
  fleet: FleetService;
  smoke: SmokeService;
  /** The launch-day guard (evaluates only on the instance holding its lease). */
  guard: GuardService;
  /** Alert delivery to Alertmanager and the webhook (delivers only on the instance holding its lease). */
  notifications: NotificationService;
};

export type TContext = TServices & {
  actor: TActor;
  request: TRequestInfo;
  cookies: TCookieJar;
};

export const SESSION_COOKIE = 'coolant_session';
