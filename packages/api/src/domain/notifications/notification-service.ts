/**
 * The notifier's schedule: every tickMs the holder of the notification lease appends the new
 * transitions of fleet alerts and guard steps to the outbox (reconcile-events.ts) and delivers
 * what is pending to each configured channel (deliver-channels.ts). Other instances only renew
 * their claim attempt. State lives in the database, so a restart picks up where it stopped.
 */
import type { TDb } from '@coolant/db';
import { deliverAlertmanager, deliverWebhook, type TDeliveryOptions } from './deliver-channels';
import { readNotificationConfig } from './notification-config';
import { acquireNotificationLease, releaseNotificationLease } from './notification-lease';
import { pruneNotificationEvents } from './prune-events';
import { reconcileEvents } from './reconcile-events';

export type TNotificationOptions = Partial<TDeliveryOptions> & {
  /** How often the deliverer looks for transitions and pending deliveries (default 1 s). */
  tickMs?: number;
};

export type TNotifyTick = { leader: boolean; appended?: number; webhook?: number; alertmanager?: number };

const PRUNE_EVERY_MS = 10 * 60_000;

export class NotificationService {
  readonly instanceId: string;
  readonly delivery: TDeliveryOptions;
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private ticking: Promise<TNotifyTick> | null = null;
  private lastConfigVersion = -1;
  private lastPrune = 0;
  /** Until when this instance's lease is known to hold: renewed in the database only once half of it is gone. */
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
  }

  start(background: boolean): void {
    if (!background) return;
    this.running = true;
    const loop = async () => {
      if (!this.running) return;
      await this.tick().catch((error: Error) => this.log(`notifications: ${error.message}`));
      if (this.running) {
        this.timer = setTimeout(() => void loop(), this.tickMs);
        this.timer.unref();
      }
    };
    this.timer = setTimeout(() => void loop(), Math.min(500, this.tickMs));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking?.catch(() => {});
    this.leaseUntil = 0;
    await releaseNotificationLease({ db: this.opts.db, instanceId: this.instanceId });
  }

  /** One pass; concurrent calls share it (tests drive it by hand). */
  tick(): Promise<TNotifyTick> {
    if (this.ticking) return this.ticking;
    this.ticking = this.run().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async run(): Promise<TNotifyTick> {
    if (this.stopped) return { leader: false };
    const { db, now } = this.opts;
    const ttlMs = Math.max(5_000, 5 * this.tickMs);
    const at = now().getTime();
    // A held lease cannot be taken before it expires, so most ticks need no write to keep it.
    if (this.leaseUntil - at < ttlMs / 2) {
      const leader = await acquireNotificationLease({
        db,
        instanceId: this.instanceId,
        now: now(),
        ttlMs,
        log: this.log,
      });
      this.leaseUntil = leader ? at + ttlMs : 0;
      if (!leader) return { leader: false };
    }
    const appended = await reconcileEvents({ db, now: now() });
    const config = await readNotificationConfig({ db });
    const changed = config.version !== this.lastConfigVersion;
    this.lastConfigVersion = config.version;
    const result: TNotifyTick = { leader: true, appended };
    if (config.webhook) result.webhook = await deliverWebhook({ db, hook: config.webhook, now, opts: this.delivery });
    if (config.alertmanager) {
      const am = await deliverAlertmanager({
        db,
        url: config.alertmanager.url,
        now,
        opts: this.delivery,
        force: changed,
      });
      result.alertmanager = am.alerts;
    }
    if (Date.now() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      await pruneNotificationEvents({ db, now: now() }).catch((e: Error) =>
        this.log(`notifications prune: ${e.message}`),
      );
    }
    return result;
  }
}
