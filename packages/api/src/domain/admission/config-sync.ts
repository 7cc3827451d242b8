import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { TDb, TDbProvider, TDbTx, TNotifier } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { createOnce } from '../../lib/unique-violation';
import { resumeDuePauses } from '../tiers/resume-due-pauses';
import { loadConfigSnapshot, readConfigVersion, type TConfigSnapshot } from './config-snapshot';

export const CONFIG_CHANNEL = 'coolant_config';
/** Backstop when a notification is lost: every instance re-reads the version this often. */
export const POLL_MS = 1_000;
const HEARTBEAT_MS = 5_000;
/** An instance that has not heartbeated for this long is not counted as live. */
export const INSTANCE_LIVE_MS = 15_000;

export type TConfigSyncOptions = {
  db: TDb;
  provider: TDbProvider;
  notifier: TNotifier | null;
  now?: () => Date;
  log?: (msg: string) => void;
};

/**
 * Keeps this instance's copy of the admission config current. Every change
 * bumps ConfigState.version in its own transaction and, on PostgreSQL,
 * NOTIFYs the other instances (delivered at commit); each instance re-reads
 * on notification and polls the version every second as a backstop. Each
 * instance records which version it applies, and when.
 */
export class ConfigSync {
  readonly instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private snapshot: TConfigSnapshot | null = null;
  /** Tiers whose pause is being committed: refused already, so no consume slips in between commit and reload. */
  private readonly pausing = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;
  private listeners: ((s: TConfigSnapshot) => void)[] = [];
  private readonly now: () => Date;
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: TConfigSyncOptions) {
    this.now = opts.now ?? (() => new Date());
    this.log = opts.log ?? (() => {});
  }

  get current(): TConfigSnapshot {
    if (!this.snapshot) throw new AppError('UNAVAILABLE', 'admission config not loaded yet');
    return this.snapshot;
  }

  isPausing(tierName: string): boolean {
    return this.pausing.has(tierName);
  }

  onApply(listener: (s: TConfigSnapshot) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    const { db } = this.opts;
    // The version row exists from the first start on.
    await createOnce(
      async () =>
        (await db.configState.findUnique({ where: { id: 1 } })) ??
        db.configState.create({ data: { id: 1, version: 1 } }),
    );
    await this.reload();
    if (this.opts.notifier) {
      await this.opts.notifier.listen(
        CONFIG_CHANNEL,
        () => void this.reload(),
        () => void this.reload(),
      );
    }
    this.timers.push(setInterval(() => void this.poll(), POLL_MS));
    this.timers.push(setInterval(() => void this.heartbeat(), HEARTBEAT_MS));
    for (const t of this.timers) t.unref();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.reloading;
    await this.opts.db.instance.deleteMany({ where: { id: this.instanceId } }).catch(() => {});
  }

  private async poll(): Promise<void> {
    try {
      const version = await readConfigVersion(this.opts.db);
      if (!this.snapshot || version !== this.snapshot.version) await this.reload();
    } catch (error) {
      this.log(`config poll failed: ${(error as Error).message}`);
    }
  }

  private async heartbeat(): Promise<void> {
    if (!this.snapshot) return;
    await this.opts.db.instance
      .update({ where: { id: this.instanceId }, data: { heartbeatAt: this.now() } })
      .catch(() => this.recordApplied(this.snapshot!.version).catch(() => {}));
  }

  /** Re-reads the config; concurrent calls coalesce into at most one extra read. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          const next = await loadConfigSnapshot(this.opts.db, this.now());
          if (!this.snapshot || next.version >= this.snapshot.version) {
            const changed = !this.snapshot || next.version !== this.snapshot.version;
            this.snapshot = next;
            if (changed) {
              for (const l of this.listeners) l(next);
              await this.recordApplied(next.version);
            }
          }
        } while (this.reloadAgain);
      } catch (error) {
        this.log(`config reload failed: ${(error as Error).message}`);
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  private async recordApplied(version: number): Promise<void> {
    const now = this.now();
    const { db } = this.opts;
    await db.instance.upsert({
      where: { id: this.instanceId },
      create: {
        id: this.instanceId,
        hostname: hostname(),
        pid: process.pid,
        heartbeatAt: now,
        configVersion: version,
        appliedAt: now,
      },
      update: { heartbeatAt: now, configVersion: version, appliedAt: now },
    });
    await db.configApplication.upsert({
      where: { instanceId_version: { instanceId: this.instanceId, version } },
      create: { instanceId: this.instanceId, version, appliedAt: now },
      update: {},
    });
  }

  /**
   * Runs a config change in one transaction with the version bump (and the
   * NOTIFY on PostgreSQL), then applies it here before returning, so the
   * caller's next consume already sees it.
   */
  async mutate<T>(
    fn: (tx: TDbTx, version: number) => Promise<T>,
    opts: { pausing?: string; onCommitted?: () => void } = {},
  ): Promise<T> {
    if (opts.pausing) this.pausing.add(opts.pausing);
    try {
      const result = await this.opts.db.$transaction(async (tx) => {
        await tx.configState.update({ where: { id: 1 }, data: { version: { increment: 1 } } });
        const version = await readConfigVersion(tx);
        const out = await fn(tx, version);
        if (this.opts.provider === 'postgresql')
          await tx.$executeRawUnsafe('SELECT pg_notify($1, $2)', CONFIG_CHANNEL, String(version));
        return out;
      });
      // The guard's drill times the commit itself, before this instance's own reload.
      opts.onCommitted?.();
      await this.reload();
      return result;
    } finally {
      if (opts.pausing) this.pausing.delete(opts.pausing);
    }
  }

  /**
   * Tells every instance that something they cache changed (a revoked
   * credential): bumps the version, which makes each of them reload and run
   * its onApply listeners.
   */
  async announce(): Promise<void> {
    await this.mutate(async () => undefined);
  }

  /** Ends pauses whose resumeAt has passed, once, whichever instance gets there first (the tiers module writes it). */
  resumeDuePauses(): Promise<string[]> {
    return resumeDuePauses({ db: this.opts.db, config: this, now: this.now() });
  }
}
