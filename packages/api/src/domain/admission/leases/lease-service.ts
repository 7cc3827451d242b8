/**
 * Generation leases (issue 13 §2) around the quota decision: a consume with `lease` first takes a
 * slot (lease-decision.ts: concurrency bounds, then the capacity rule), then the quota decides as
 * for any consume; if the quota refuses, the slot is given back. A lease is therefore never held
 * without its quota, and a quota never spent without its slot (except when the database fails in
 * between: then the slot is given back and the caller gets an error). Release, heartbeat and the
 * expiry sweep are the store's conditional transitions; a failed release refunds the quota once,
 * under the consume's ticket nonce, so a refund by ticket and a failed release cannot both refund.
 */
import { randomBytes } from 'node:crypto';
import type { TDb, TPgRaw, TSqliteRaw } from '@coolant/db';
import { AppError } from '../../../lib/app-error';
import { buildResponse, type TBuildResponse } from '../build-response';
import { effectiveLimits, type TConfigSnapshot } from '../config-snapshot';
import { newNonce } from '../tickets';
import type { TAdmissionStore, TConsumeResponse, TCounterWindow, TStoreOutcome } from '../types';
import { windowResetMs, windowStartMin } from '../windows';
import { decideLease } from './lease-decision';
import { LeaseDurations } from './lease-durations';
import type { TLeaseRow, TLeaseStore, TLeaseVerdict, TReleaseOutcome } from './lease-types';
import { PgLeaseStore } from './pg-lease-store';
import { SqliteLeaseStore } from './sqlite-lease-store';

export type TReleaseResult = {
  released: boolean;
  reason: 'ok' | 'already_released' | 'expired';
  outcome: TReleaseOutcome;
  /** For failed: whether this release gave the quota back (false: refunded before by ticket). null for done. */
  refunded: boolean | null;
  message: string;
};

export type THeartbeatResult = {
  extended: boolean;
  reason: 'ok' | 'already_released' | 'expired';
  expiresAt: string | null;
  message: string;
};

export type TLeaseConsume = Omit<TBuildResponse, 'outcome' | 'nonce'> & {
  lease: { ttlSeconds: number };
  requestId: string | null;
  fingerprint: string;
  requestExpiresAt: Date;
  /** Records (under the requestId) and counts an answer made without the quota store. */
  answer(response: TConsumeResponse): Promise<TConsumeResponse>;
  /** Counts an answer of the quota store (it records the requestId itself). */
  count(response: TConsumeResponse): void;
};

const STATE_MESSAGE = {
  expired: 'expired before this call: its slot was already free',
  already_released: 'was already released',
} as const;

export class LeaseService {
  readonly store: TLeaseStore;
  readonly durations = new LeaseDurations();

  constructor(
    private readonly opts: {
      db: TDb;
      raw: TSqliteRaw | TPgRaw;
      instanceId: string;
      now: () => Date;
      /** The quota store: the decision between taking and keeping the slot, and the refund of a failed lease. */
      quota: TAdmissionStore;
      /** The config in force (the limits a failed lease's refund gives back to). */
      sync: { readonly current: TConfigSnapshot };
    },
  ) {
    this.store = opts.raw.kind === 'sqlite' ? new SqliteLeaseStore(opts.raw) : new PgLeaseStore(opts.raw);
  }

  async start(): Promise<void> {
    const now = this.opts.now();
    await this.store.start(now);
    await this.durations.load({ db: this.opts.db, now });
  }

  async consume(c: TLeaseConsume): Promise<TConsumeResponse> {
    const { tier, now, slots, req } = c;
    const build = (outcome: TStoreOutcome, nonce?: string) => buildResponse({ ...c, outcome, nonce });
    // A cost above a limit can never fit: refused by the quota's own answer, no slot taken.
    if (slots.some((s) => req.cost > s.limit))
      return c.answer({ ...build({ ok: false, used: slots.map(() => 0) }), lease: null });
    const id = `l_${randomBytes(15).toString('base64url')}`;
    const nonce = newNonce();
    const typical = this.durations.typical({ tierId: tier.id, nowMs: now.getTime() });
    const acquired = await this.store.acquire(
      {
        id,
        tierId: tier.id,
        tierName: tier.name,
        subject: req.subject,
        cost: req.cost,
        ticketNonce: nonce,
        ttlSeconds: c.lease.ttlSeconds,
        now,
        instanceId: this.opts.instanceId,
        holder: req.holder ?? null,
        typicalDurationMs: typical,
      },
      (d) => decideLease({ ...d, tierId: tier.id, tierName: tier.name, typicalDurationMs: typical }),
    );
    if (!acquired.ok) return c.answer(refusal({ verdict: acquired.verdict, tier: tier.name, version: c.version }));
    const lease = acquired.grant;
    const withLease = (o: TStoreOutcome) => ({ ...build(o, nonce), lease: o.ok ? lease : null });
    let response: TConsumeResponse;
    try {
      response =
        slots.length === 0
          ? await c.answer(withLease({ ok: true, used: [] }))
          : await this.opts.quota.consume({
              tierId: tier.id,
              tierName: tier.name,
              subject: req.subject,
              cost: req.cost,
              slots,
              requestId: c.requestId,
              fingerprint: c.fingerprint,
              requestExpiresAt: c.requestExpiresAt,
              now,
              build: withLease,
            });
    } catch (error) {
      await this.store.abandon({ id, tierId: tier.id }).catch(() => {});
      throw error;
    }
    if (slots.length > 0) c.count(response);
    // Refused by the quota, or another instance answered this requestId first with its own lease.
    if (!response.allowed || response.lease?.id !== id) await this.store.abandon({ id, tierId: tier.id });
    return response;
  }

  async release(req: { lease: string; outcome: TReleaseOutcome }): Promise<TReleaseResult> {
    const now = this.opts.now();
    const r = await this.store.release({ id: req.lease, outcome: req.outcome, now });
    if (!r.ok) {
      if (r.state === 'unknown') throw unknownLease(req.lease);
      const reason = r.state;
      return {
        released: false,
        reason,
        outcome: req.outcome,
        refunded: null,
        message: `lease ${req.lease} ${STATE_MESSAGE[reason]}`,
      };
    }
    this.durations.record({ tierId: r.row.tierId, atMs: r.releasedAtMs, ms: r.releasedAtMs - r.row.createdAtMs });
    let refunded: boolean | null = null;
    if (req.outcome === 'failed') refunded = r.row.ticketNonce ? await this.refund({ row: r.row, now }) : false;
    return {
      released: true,
      reason: 'ok',
      outcome: req.outcome,
      refunded,
      message:
        refunded === false
          ? `lease ${req.lease} released; its quota had been refunded before`
          : `lease ${req.lease} released`,
    };
  }

  /**
   * Gives the failed lease's quota back once (RefundedTicket under its ticket's nonce): to the
   * windows of the limits its tier had at the consume's minute, the subject's and the tier's.
   */
  private refund(req: { row: TLeaseRow; now: Date }): Promise<boolean> {
    const { row, now } = req;
    const at = row.consumedAtMin * 60_000;
    const tier = [...this.opts.sync.current.tiers.values()].find((t) => t.id === row.tierId);
    const limits = tier ? effectiveLimits(tier, new Date(at)) : [];
    const windows: TCounterWindow[] = limits.map((l) =>
      l.scope === 'tier' ? [l.window, windowStartMin(l.window, at), 'tier'] : [l.window, windowStartMin(l.window, at)],
    );
    const endMs = Math.max(0, ...windows.map(([w, s]) => windowResetMs(w, s)));
    return this.opts.quota.refund({
      nonce: row.ticketNonce!,
      expiresAt: new Date(Math.max(endMs, now.getTime() + 60_000)),
      tierId: row.tierId,
      subject: row.subject,
      cost: row.cost,
      windows,
      now,
    });
  }

  async heartbeat(req: { lease: string; ttlSeconds?: number | undefined }): Promise<THeartbeatResult> {
    const now = this.opts.now();
    const r = await this.store.heartbeat({ id: req.lease, ttlSeconds: req.ttlSeconds ?? null, now });
    if (r.ok) return { extended: true, reason: 'ok', expiresAt: r.expiresAt, message: `lease ${req.lease} extended` };
    if (r.state === 'unknown') throw unknownLease(req.lease);
    return {
      extended: false,
      reason: r.state,
      expiresAt: null,
      message: `lease ${req.lease} ${STATE_MESSAGE[r.state]}`,
    };
  }

  /** Marks expired leases (counted once in LeaseTotal.expired) and, on PostgreSQL, reads every instance's durations. */
  async sweep(): Promise<Map<string, number>> {
    const now = this.opts.now();
    const expired = await this.store.sweep(now);
    if (this.opts.raw.kind === 'postgresql') await this.durations.load({ db: this.opts.db, now });
    return expired;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function unknownLease(id: string): AppError {
  return new AppError(
    'NOT_FOUND',
    `lease ${id}: no such lease (not issued by this Coolant, or ended more than a day ago and pruned)`,
  );
}

function refusal(req: {
  verdict: Exclude<TLeaseVerdict, { admit: true }>;
  tier: string;
  version: number;
}): TConsumeResponse {
  const v = req.verdict;
  return {
    allowed: false,
    reason: v.reason,
    tier: req.tier,
    limit: v.limit,
    remaining: null,
    window: null,
    resetAt: null,
    retryAfterSeconds: v.retryAfterSeconds,
    ticket: null,
    policies: [],
    pauseReason: null,
    configVersion: req.version,
    lease: null,
    message: v.message,
  };
}
