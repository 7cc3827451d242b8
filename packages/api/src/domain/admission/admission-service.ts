import { randomBytes } from 'node:crypto';
import type { TDb, TPgRaw, TSqliteRaw } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { dateAt } from '../../lib/clock';
import { assertSameRequest, requestFingerprint } from './idempotency';
import { effectiveLimits, isPaused, type TTierConfig } from './config-snapshot';
import type { ConfigSync } from './config-sync';
import { MemoryAdmissionStore } from './memory-store';
import { PgAdmissionStore } from './pg-store';
import { chunk, statUpsertSql } from './sql';
import { decodeTicket, encodeTicket, newNonce } from './tickets';
import type { TAdmissionStore, TConsumeResponse, TLimitSlot, TPolicy, TStoreOutcome } from './types';
import { windowResetMs, windowStartMin } from './windows';

export type TConsumeRequest = { tier: string; subject: string; cost: number; requestId?: string | undefined };

/** How long a requestId's answer is kept for retries. */
const REQUEST_TTL_MS = 24 * 60 * 60_000;
const STATS_FLUSH_MS = 1_000;
const PRUNE_MS = 60_000;
const RESUME_CHECK_MS = 1_000;
const TICKET_KEY = 'admission.ticketKey';
/** Tier label of unknown_tier decisions; tier names start with [a-z0-9], so no tier is called this. */
export const UNKNOWN_TIER_LABEL = '_unknown';

export type TAdmissionCounters = Map<string, number>;

/** A tier's slots while they hold, with each reset time already as the ISO string answers carry. */
type TSlots = { fromMs: number; untilMs: number; slots: TLimitSlot[]; resetAt: string[] };

/**
 * Answers "may this subject of this tier generate now?" for the gateway,
 * from the in-memory config and the counter store.
 */
export class AdmissionService {
  readonly store: TAdmissionStore;
  /** The direct connection that commits admission batches (tests read its pragmas). */
  readonly raw: TSqliteRaw | TPgRaw;
  private ticketKey: Buffer | null = null;
  private readonly inflight = new Map<string, { fingerprint: string; answer: Promise<TConsumeResponse> }>();
  private stats = new Map<string, { tierName: string; minute: number; allowed: number; denied: number }>();
  /** Decisions since start by `tier|reason` (for /metrics). */
  readonly decisions: TAdmissionCounters = new Map();
  private timers: NodeJS.Timeout[] = [];
  private readonly now: () => Date;
  private readonly slotCache = new WeakMap<TTierConfig, TSlots>();

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
  }

  async start(): Promise<void> {
    const { db } = this.opts;
    await db.setting.upsert({
      where: { key: TICKET_KEY },
      create: { key: TICKET_KEY, value: randomBytes(32).toString('base64') },
      update: {},
    });
    this.ticketKey = Buffer.from((await db.setting.findUniqueOrThrow({ where: { key: TICKET_KEY } })).value, 'base64');
    await this.store.start(this.now());
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
      for (const t of this.timers) t.unref();
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
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

    const { slots, resetAt } = this.slots(tier, now.getTime());
    const build = (outcome: TStoreOutcome) => this.build(tier, req, slots, resetAt, outcome, now, snapshot.version);

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

  /**
   * The limits in force as slots, the same array for every decision on this
   * tier until a minute boundary or a temporary limit's expiry (whichever is
   * first): the config snapshot replaces the tier object on any change, so
   * the cache follows it. Stores only read slots.
   */
  private slots(tier: TTierConfig, nowMs: number): TSlots {
    const cached = this.slotCache.get(tier);
    if (cached && nowMs >= cached.fromMs && nowMs < cached.untilMs) return cached;
    const now = dateAt(nowMs);
    let untilMs = (Math.floor(nowMs / 60_000) + 1) * 60_000;
    const slots: TLimitSlot[] = effectiveLimits(tier, now).map((l) => {
      if (l.until) untilMs = Math.min(untilMs, l.until.getTime());
      const startMin = windowStartMin(l.window, nowMs);
      const resetMs = windowResetMs(l.window, startMin);
      return { window: l.window, startMin, limit: l.limit, resetMs, source: l.source };
    });
    const entry = {
      fromMs: Math.floor(nowMs / 60_000) * 60_000,
      untilMs,
      slots,
      resetAt: slots.map((sl) => new Date(sl.resetMs).toISOString()),
    };
    this.slotCache.set(tier, entry);
    return entry;
  }

  private build(
    tier: TTierConfig,
    req: TConsumeRequest,
    slots: TLimitSlot[],
    resetAt: string[],
    outcome: TStoreOutcome,
    now: Date,
    version: number,
  ): TConsumeResponse {
    const policies: TPolicy[] = slots.map((s, i) => ({
      window: s.window,
      limit: s.limit,
      remaining: Math.max(0, s.limit - outcome.used[i]!),
      resetAt: resetAt[i]!,
      source: s.source,
    }));
    const base = { tier: tier.name, configVersion: version, pauseReason: null, policies };
    if (slots.length === 0) {
      return {
        ...base,
        allowed: true,
        reason: 'ok',
        limit: null,
        remaining: null,
        window: null,
        resetAt: null,
        retryAfterSeconds: null,
        ticket: this.ticket(tier, req, slots, now),
      };
    }
    if (outcome.ok) {
      // The binding limit is the one with the fewest units left; on a tie, the one that resets last.
      let b = 0;
      slots.forEach((s, i) => {
        const r = policies[i]!.remaining;
        if (r < policies[b]!.remaining || (r === policies[b]!.remaining && s.resetMs > slots[b]!.resetMs)) b = i;
      });
      return {
        ...base,
        allowed: true,
        reason: 'ok',
        limit: slots[b]!.limit,
        remaining: policies[b]!.remaining,
        window: slots[b]!.window,
        resetAt: policies[b]!.resetAt,
        retryAfterSeconds: null,
        ticket: this.ticket(tier, req, slots, now),
      };
    }
    // Refused: a retry succeeds only once every refusing window has reset.
    let b = -1;
    slots.forEach((s, i) => {
      if (outcome.used[i]! + req.cost > s.limit && (b < 0 || s.resetMs > slots[b]!.resetMs)) b = i;
    });
    const s = slots[b]!;
    return {
      ...base,
      allowed: false,
      reason: 'quota_exceeded',
      limit: s.limit,
      remaining: policies[b]!.remaining,
      window: s.window,
      resetAt: policies[b]!.resetAt,
      retryAfterSeconds: Math.max(1, Math.ceil((s.resetMs - now.getTime()) / 1000)),
      ticket: null,
    };
  }

  private ticket(tier: TTierConfig, req: TConsumeRequest, slots: TLimitSlot[], now: Date): string {
    let e = now.getTime();
    for (const s of slots) if (s.resetMs > e) e = s.resetMs;
    return encodeTicket(this.key(), {
      v: 1,
      n: newNonce(),
      t: tier.id,
      s: req.subject,
      c: req.cost,
      w: slots.map((s) => [s.window, s.startMin]),
      e,
    });
  }

  private count(r: TConsumeResponse, nowMs: number): void {
    // An unknown tier name is whatever the caller sent: one shared label keeps the map and /metrics bounded.
    const k = `${r.reason === 'unknown_tier' ? UNKNOWN_TIER_LABEL : r.tier}|${r.reason}`;
    this.decisions.set(k, (this.decisions.get(k) ?? 0) + 1);
    if (r.reason === 'unknown_tier') return;
    const minute = Math.floor(nowMs / 60_000);
    const sk = `${r.tier}|${minute}`;
    let s = this.stats.get(sk);
    if (!s) {
      s = { tierName: r.tier, minute, allowed: 0, denied: 0 };
      this.stats.set(sk, s);
    }
    if (r.allowed) s.allowed++;
    else s.denied++;
  }

  async flushStats(): Promise<void> {
    if (this.stats.size === 0) return;
    const rows = [...this.stats.values()];
    this.stats = new Map();
    try {
      const statements = chunk(rows).map((part) => ({
        sql: statUpsertSql(this.raw.kind, part.length),
        params: part.flatMap((r) => [r.tierName, r.minute, r.allowed, r.denied]),
      }));
      if (this.raw.kind === 'sqlite') this.raw.batch(statements);
      else for (const st of statements) await this.raw.query(st.sql, st.params);
    } catch (error) {
      // Put them back so a database hiccup loses no counts.
      for (const r of rows) {
        const k = `${r.tierName}|${r.minute}`;
        const s = this.stats.get(k);
        if (s) {
          s.allowed += r.allowed;
          s.denied += r.denied;
        } else this.stats.set(k, r);
      }
      throw error;
    }
  }

  async refund(ticket: string): Promise<{ refunded: boolean; reason: 'ok' | 'already_refunded' | 'window_ended' }> {
    const payload = decodeTicket(this.key(), ticket);
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
