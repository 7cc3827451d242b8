// The admission service: "may this subject of this tier generate now?" for the gateway, from the
// in-memory config snapshot and the counter store (memory-store.ts on SQLite, pg-store.ts on
// PostgreSQL), with requestId retries answered once and refunds by signed ticket. The answer's
// shape is built in build-response.ts, the slots cached in tier-slots.ts, the counts kept in
// decision-stats.ts. A consume with a lease goes through leases/lease-service.ts around the quota.
import { randomBytes } from 'node:crypto';
import type { TDb, TPgRaw, TSqliteRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { createOnce } from '../../lib/unique-violation';
import { dateAt } from '../../lib/clock';
import { buildResponse, type TConsumeRequest } from './build-response';
import { isPaused } from './config-snapshot';
import type { ConfigSync } from './config-sync';
import { DecisionStats, type TAdmissionCounters } from './decision-stats';
import { LeaseService } from './leases/lease-service';
import { RefusalStats } from './leases/refusal-stats';
import { assertSameRequest, requestFingerprint } from './idempotency';
import { MemoryAdmissionStore } from './memory-store';
import { PgAdmissionStore } from './pg-store';
import { decodeTicket } from './tickets';
import { TierSlots } from './tier-slots';
import type { TAdmissionStore, TConsumeResponse, TStoreOutcome } from './types';

export type { TConsumeRequest } from './build-response';
export { UNKNOWN_TIER_LABEL, type TAdmissionCounters } from './decision-stats';

/** How long a requestId's answer is kept for retries. */
const REQUEST_TTL_MS = 24 * 60 * 60_000;
const STATS_FLUSH_MS = 1_000;
const PRUNE_MS = 60_000;
const RESUME_CHECK_MS = 1_000;
const LEASE_SWEEP_MS = 5_000;
const TICKET_KEY = 'admission.ticketKey';

export type TRefundResult = { refunded: boolean; reason: 'ok' | 'already_refunded' | 'window_ended' };

export class AdmissionService {
  readonly store: TAdmissionStore;
  /** The direct connection that commits admission batches (tests read its pragmas). */
  readonly raw: TSqliteRaw | TPgRaw;
  private ticketKey: Buffer | null = null;
  private readonly inflight = new Map<string, { fingerprint: string; answer: Promise<TConsumeResponse> }>();
  private readonly stats = new DecisionStats();
  /** Decisions since start by `tier|reason` (for /metrics). */
  readonly decisions: TAdmissionCounters = this.stats.decisions;
  private timers: NodeJS.Timeout[] = [];
  private readonly now: () => Date;
  private readonly tierSlots = new TierSlots();
  private readonly refusals = new RefusalStats();
  readonly leases: LeaseService;

  constructor(
    private readonly opts: {
      db: TDb;
      raw: TSqliteRaw | TPgRaw;
      sync: ConfigSync;
      now?: () => Date;
      log?: (m: string) => void;
      background?: boolean;
    },
  ) {
    this.raw = opts.raw;
    this.store =
      this.raw.kind === 'sqlite'
        ? new MemoryAdmissionStore(opts.db, this.raw)
        : new PgAdmissionStore(opts.db, this.raw);
    this.now = opts.now ?? (() => new Date());
    this.leases = new LeaseService({ ...opts, instanceId: opts.sync.instanceId, now: this.now, quota: this.store });
  }

  async start(): Promise<void> {
    const { db } = this.opts;
    // A plain insert, not an upsert: Prisma's upsert reads first, and on SQLite a read-then-write transaction
    // fails at once with SQLITE_BUSY while another connection (a second console starting) holds the write lock.
    await createOnce(() => db.setting.create({ data: { key: TICKET_KEY, value: randomBytes(32).toString('base64') } }));
    this.ticketKey = Buffer.from((await db.setting.findUniqueOrThrow({ where: { key: TICKET_KEY } })).value, 'base64');
    await this.store.start(this.now());
    await this.leases.start();
    if (this.opts.background !== false) {
      const log = this.opts.log ?? (() => {});
      this.timers.push(
        setInterval(
          () => void this.flushStats().catch((e: Error) => log(`stats flush failed: ${e.message}`)),
          STATS_FLUSH_MS,
        ),
      );
      this.timers.push(
        setInterval(
          () => void this.store.prune(this.now()).catch((e: Error) => log(`prune failed: ${e.message}`)),
          PRUNE_MS,
        ),
      );
      this.timers.push(
        setInterval(
          () => void this.opts.sync.resumeDuePauses().catch((e: Error) => log(`scheduled resume failed: ${e.message}`)),
          RESUME_CHECK_MS,
        ),
      );
      const sweep = () => void this.leases.sweep().catch((e: Error) => log(`lease sweep failed: ${e.message}`));
      this.timers.push(setInterval(sweep, LEASE_SWEEP_MS));
      for (const t of this.timers) t.unref();
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.leases.close();
    await this.store.close();
    await this.flushStats().catch(() => {});
  }

  private key(): Buffer {
    if (!this.ticketKey) throw new AppError('UNAVAILABLE', 'admission not started');
    return this.ticketKey;
  }

  async consume(req: TConsumeRequest): Promise<TConsumeResponse> {
    const id = req.requestId;
    if (!id) return this.consumeOnce(req, '');
    const fingerprint = requestFingerprint(req);
    // Concurrent retries of one request inside this process share one decision.
    const running = this.inflight.get(id);
    if (running?.fingerprint === fingerprint) return running.answer;
    if (running) {
      // Another request holds this id here, but another instance may have recorded a third one first:
      // the store decides which was first, so wait for this one and ask again (then lookup answers).
      await running.answer.catch(() => {});
      return this.consume(req);
    }
    const answer = this.consumeOnce(req, fingerprint).finally(() => this.inflight.delete(id));
    this.inflight.set(id, { fingerprint, answer });
    return answer;
  }

  private async consumeOnce(req: TConsumeRequest, fingerprint: string): Promise<TConsumeResponse> {
    const now = this.now();
    const requestId = req.requestId ?? null;
    if (requestId) {
      const prior = await this.store.lookup(requestId, now);
      if (prior) {
        assertSameRequest(requestId, prior.fingerprint, fingerprint);
        return prior.response;
      }
    }
    const snapshot = this.opts.sync.current;
    const tier = snapshot.tiers.get(req.tier);
    const base = { tier: req.tier, configVersion: snapshot.version, ticket: null, pauseReason: null } as const;
    const requestExpiresAt = dateAt(now.getTime() + REQUEST_TTL_MS);

    const answer = async (response: TConsumeResponse) => {
      const recorded = requestId
        ? await this.store.remember({ requestId, fingerprint, response, expiresAt: requestExpiresAt, now })
        : response;
      // Another instance's earlier answer to this request was counted where it was made.
      if (recorded === response) this.count(response, now.getTime());
      return recorded;
    };

    if (!tier || tier.retired) {
      return answer({
        ...base,
        allowed: false,
        reason: 'unknown_tier',
        limit: null,
        remaining: null,
        window: null,
        resetAt: null,
        retryAfterSeconds: null,
        policies: [],
      });
    }
    if (isPaused(tier, now) || this.opts.sync.isPausing(tier.name)) {
      const resumeAt = tier.pause?.resumeAt ?? null;
      return answer({
        ...base,
        allowed: false,
        reason: 'tier_paused',
        limit: null,
        remaining: null,
        window: null,
        resetAt: resumeAt?.toISOString() ?? null,
        retryAfterSeconds: resumeAt ? Math.max(1, Math.ceil((resumeAt.getTime() - now.getTime()) / 1000)) : null,
        policies: [],
        pauseReason: tier.pause?.reason ?? null,
      });
    }

    const { slots, resetAt } = this.tierSlots.get({ tier, nowMs: now.getTime() });
    const ticketKey = this.key();
    const version = snapshot.version;
    const build = (outcome: TStoreOutcome) =>
      buildResponse({ tier, req, slots, resetAt, outcome, now, version, ticketKey });
    if (req.lease) {
      // The same quota decision, between taking a slot and keeping or giving it back.
      const count = (r: TConsumeResponse) => this.count(r, now.getTime());
      const lease = { req, lease: req.lease, requestId, fingerprint, requestExpiresAt, answer, count };
      return this.leases.consume({ tier, slots, resetAt, now, version, ticketKey, ...lease });
    }

    // A cost above a limit can never fit: refuse without touching the store.
    if (slots.length === 0 || slots.some((s) => req.cost > s.limit)) {
      return answer(build({ ok: slots.length === 0, used: slots.map(() => 0) }));
    }
    const response = await this.store.consume({
      tierId: tier.id,
      tierName: tier.name,
      subject: req.subject,
      cost: req.cost,
      slots,
      requestId,
      fingerprint,
      requestExpiresAt,
      now,
      build,
    });
    this.count(response, now.getTime());
    return response;
  }

  private count(response: TConsumeResponse, nowMs: number): void {
    this.stats.count({ response, nowMs });
    if (!response.allowed) this.refusals.count({ response, nowMs });
  }

  async flushStats(): Promise<void> {
    await this.stats.flush({ raw: this.raw });
    await this.refusals.flush({ raw: this.raw });
  }

  async refund(req: { ticket: string }): Promise<TRefundResult> {
    const payload = decodeTicket({ key: this.key(), ticket: req.ticket });
    if (!payload)
      throw new AppError('BAD_REQUEST', 'ticket: not a ticket issued by this Coolant (malformed or bad signature)');
    const now = this.now();
    if (payload.e <= now.getTime() && payload.w.length > 0) return { refunded: false, reason: 'window_ended' };
    const ok = await this.store.refund({
      nonce: payload.n,
      expiresAt: new Date(Math.max(payload.e, now.getTime() + 60_000)),
      tierId: payload.t,
      subject: payload.s,
      cost: payload.c,
      windows: payload.w,
      now,
    });
    return ok ? { refunded: true, reason: 'ok' } : { refunded: false, reason: 'already_refunded' };
  }
}
