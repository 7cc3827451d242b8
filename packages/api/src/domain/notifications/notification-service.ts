/**
 * The notifier's schedule. Three loops, each every tickMs and each its own: the reconcile (fleet
 * alerts and guard steps into the outbox, reconcile-events.ts), the webhook's delivery pass and
 * Alertmanager's (deliver-*.ts), so a slow receiver never delays the other channel, nor
 * Alertmanager's re-send. Only the holder of the notification lease runs them; it confirms and
 * renews the lease in the database before every POST, so an instance that lost it posts nothing
 * more. Stopping cancels the POSTs in flight and hands the lease back at once. State lives in the
 * database, so a restart picks up where it stopped.
 */
import type { TDb } from '@coolant/db';
import type { TDeliveryOptions, TPassControl } from './deliver-channels';
import { deliverAlertmanager, type TResendMark } from './deliver-alertmanager';
import { deliverWebhook } from './deliver-webhook';
import { readNotificationConfig } from './notification-config';
import { acquireInstanceLease, releaseInstanceLease } from '../instances/instance-lease';
import { pruneNotificationEvents } from './prune-events';
import { FULL_EVERY_MS, readReconcileMarker, reconcileEvents, type TReconcileMarker } from './reconcile-events';

export type TNotificationOptions = Partial<TDeliveryOptions> & {
  /** How often each loop runs (default 1 s). */
  tickMs?: number;
};

/** full: every alert compared; changes: only the alerts changed since the last marker; skipped: nothing changed. */
export type TReconciled = 'full' | 'changes' | 'skipped';

export type TNotifyTick = {
  leader: boolean;
  reconciled?: TReconciled;
  appended?: number;
  webhook?: number;
  alertmanager?: number;
};

const PRUNE_EVERY_MS = 10 * 60_000;

/** One run at a time: a second caller while one runs gets the same promise. */
class OnePass<T> {
  current: Promise<T> | null = null;
  run(fn: () => Promise<T>): Promise<T> {
    if (this.current) return this.current;
    const p = fn().finally(() => {
      if (this.current === p) this.current = null;
    });
    this.current = p;
    return p;
  }
}

const sameMarker = (a: TReconcileMarker, b: TReconcileMarker) =>
  a.firing === b.firing && a.firingAt === b.firingAt && a.resolvedAt === b.resolvedAt && a.guardSeq === b.guardSeq;

export class NotificationService {
  readonly instanceId: string;
  readonly delivery: TDeliveryOptions;
  private readonly tickMs: number;
  /** Longer than a POST may take (timeoutMs), so a lease confirmed before a POST outlasts it. */
  private readonly ttlMs: number;
  private readonly control: TPassControl;
  private readonly abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly reconcilePass = new OnePass<{ leader: boolean; reconciled?: TReconciled; appended?: number }>();
  private readonly webhookPass = new OnePass<number>();
  private readonly alertmanagerPass = new OnePass<number>();
  private running = false;
  private stopped = false;
  private marker: TReconcileMarker | null = null;
  private lastFull = 0;
  private resent: TResendMark | null = null;
  private lastPrune = 0;
  /** Until when this instance's lease is known to hold (renewed before every POST, else once half of it is gone). */
  private leaseUntil = 0;
  private readonly log: (m: string) => void;

  constructor(
    private readonly opts: {
      db: TDb;
      instanceId: string;
      now: () => Date;
      log?: (m: string) => void;
      options?: TNotificationOptions;
    },
  ) {
    this.instanceId = opts.instanceId;
    this.log = opts.log ?? (() => {});
    const o = opts.options ?? {};
    this.tickMs = o.tickMs ?? 1_000;
    this.delivery = {
      resendMs: o.resendMs ?? 30_000,
      holdMs: o.holdMs ?? 180_000,
      backoffBaseMs: o.backoffBaseMs ?? 1_000,
      backoffMaxMs: o.backoffMaxMs ?? 300_000,
      timeoutMs: o.timeoutMs ?? 5_000,
      publicUrl: o.publicUrl ?? null,
    };
    this.ttlMs = Math.max(5_000, 5 * this.tickMs, 2 * this.delivery.timeoutMs);
    this.control = {
      confirm: () => this.renew(),
      signal: this.abort.signal,
      budgetMs: Math.max(5 * this.tickMs, 2 * this.delivery.timeoutMs),
    };
  }

  start(background: boolean): void {
    if (!background) return;
    this.running = true;
    this.loop(() => this.reconcile());
    this.loop(() => this.webhook());
    this.loop(() => this.alertmanager());
  }

  private loop(pass: () => Promise<unknown>): void {
    const schedule = (ms: number) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void pass()
          .catch((error: Error) => this.log(`notifications: ${error.message}`))
          .finally(() => this.running && schedule(this.tickMs));
      }, ms);
      timer.unref();
      this.timers.add(timer);
    };
    schedule(Math.min(500, this.tickMs));
  }

  /** Returns promptly: the POSTs in flight are cancelled (not recorded as failures), the lease handed back. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.abort.abort();
    await Promise.allSettled([this.reconcilePass.current, this.webhookPass.current, this.alertmanagerPass.current]);
    this.leaseUntil = 0;
    await releaseInstanceLease({ db: this.opts.db, name: 'notifications', instanceId: this.instanceId });
  }

  /** One reconcile, then both channels' passes side by side (tests drive it by hand; a pass in flight is shared). */
  async tick(): Promise<TNotifyTick> {
    const r = await this.reconcile();
    if (!r.leader) return { leader: false };
    const [webhook, alertmanager] = await Promise.all([this.webhook(), this.alertmanager()]);
    return { ...r, webhook, alertmanager };
  }

  /** A held lease cannot be taken before it expires, so most ticks need no write to keep it. */
  private async leader(): Promise<boolean> {
    if (this.stopped) return false;
    if (this.leaseUntil - this.opts.now().getTime() >= this.ttlMs / 2) return true;
    return this.renew();
  }

  /** Renews the lease in the database, which also proves it is still this instance's. */
  private async renew(): Promise<boolean> {
    if (this.stopped) return false;
    const at = this.opts.now();
    const held = await acquireInstanceLease({
      db: this.opts.db,
      name: 'notifications',
      instanceId: this.instanceId,
      now: at,
      ttlMs: this.ttlMs,
      onTaken: () => this.log(`notifications: this instance (${this.instanceId}) now delivers`),
    });
    this.leaseUntil = held ? at.getTime() + this.ttlMs : 0;
    if (!held) {
      // Whoever delivers now has its own view; taking the lease back starts with a full pass and a re-send.
      this.marker = null;
      this.resent = null;
    }
    return held;
  }

  private reconcile() {
    return this.reconcilePass.run(async () => {
      if (!(await this.leader())) return { leader: false };
      const { db, now } = this.opts;
      const marker = await readReconcileMarker({ db });
      const full = !this.marker || Date.now() - this.lastFull >= FULL_EVERY_MS;
      let reconciled: TReconciled = 'skipped';
      let appended = 0;
      if (full || !this.marker || !sameMarker(marker, this.marker)) {
        appended = await reconcileEvents({ db, now: now(), since: full ? null : this.marker, marker });
        reconciled = full ? 'full' : 'changes';
        if (full) this.lastFull = Date.now();
      }
      this.marker = marker;
      // What was just appended goes out now rather than at the channels' next turn.
      if (appended > 0 && this.running) {
        void this.webhook().catch((error: Error) => this.log(`notifications: ${error.message}`));
        void this.alertmanager().catch((error: Error) => this.log(`notifications: ${error.message}`));
      }
      if (Date.now() - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        await pruneNotificationEvents({ db, now: now() }).catch((e: Error) =>
          this.log(`notifications prune: ${e.message}`),
        );
      }
      return { leader: true, reconciled, appended };
    });
  }

  private webhook(): Promise<number> {
    return this.webhookPass.run(async () => {
      if (!(await this.leader())) return 0;
      const { db, now } = this.opts;
      const config = await readNotificationConfig({ db });
      if (!config.webhook) return 0;
      return deliverWebhook({ db, hook: config.webhook, now, opts: this.delivery, control: this.control });
    });
  }

  private alertmanager(): Promise<number> {
    return this.alertmanagerPass.run(async () => {
      if (!(await this.leader())) return 0;
      const { db, now } = this.opts;
      const config = await readNotificationConfig({ db });
      if (!config.alertmanager) return 0;
      const r = await deliverAlertmanager({
        db,
        url: config.alertmanager.url,
        now,
        opts: this.delivery,
        control: this.control,
        resent: this.resent,
      });
      // Unless the lease went meanwhile (renew forgot the mark: a take-over re-sends at once).
      if (this.leaseUntil > 0) this.resent = r.resent;
      return r.alerts;
    });
  }
}
