/**
 * The guard's schedule: one decider (the holder of the lease row, instances/instance-lease.ts) evaluates the
 * rules every intervalSeconds, climbs the shed ladder (ladder.ts) while the fleet is hot and back
 * down when it cools. Every write of its state is a compare-and-set on GuardState.seq in the same
 * transaction as the tier change it makes (guard-commit.ts), so two instances that both believe
 * they lead cannot both take a step; the loser of a race stops this evaluation and starts over.
 */
import type { TDb } from '@coolant/db';
import type { ConfigSync } from '../admission/config-sync';
import { decideRule, emptyRuleRuntime } from './decide';
import { decideDrills } from './drill';
import { commitGuard, type TDecider } from './guard-commit';
import { DEFAULT_GUARD_CONFIG } from './guard-config';
import { GuardNotifier, phaseEvent } from './guard-events';
import { acquireInstanceLease, releaseInstanceLease } from '../instances/instance-lease';
import { loadGuard, type TGuardRuntime } from './guard-state';
import { moveLadder } from './ladder';
import { checkOverrides } from './ladder-overrides';
import { computeSignals, signalFor } from './signals';

export { GUARD_ACTOR } from '../actors/actor';

export type TGuardServiceOptions = {
  db: TDb;
  config: ConfigSync;
  now: () => Date;
  /** A node with no report for this long is offline (its samples leave the signals). */
  offlineAfterMs: number;
  log?: (m: string) => void;
  /** Webhook retry base delay (tests shorten it). */
  webhookBaseDelayMs?: number;
};

export type TTickResult = {
  leader: boolean;
  armed?: boolean;
  moves?: { rule: string; move: 'up' | 'down'; step: number; status: string }[];
  events?: string[];
  lost?: boolean;
};

export class GuardService {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private ticking: Promise<TTickResult> | null = null;
  readonly instanceId: string;
  private readonly log: (m: string) => void;
  private readonly decider: TDecider;

  constructor(private readonly opts: TGuardServiceOptions) {
    this.instanceId = opts.config.instanceId;
    this.log = opts.log ?? (() => {});
    const notifier = new GuardNotifier({
      db: opts.db,
      now: opts.now,
      log: this.log,
      baseDelayMs: opts.webhookBaseDelayMs,
    });
    this.decider = { db: opts.db, config: opts.config, now: opts.now, instanceId: this.instanceId, notifier };
  }

  start(background: boolean): void {
    if (!background) return;
    this.running = true;
    let lastTick = 0;
    let intervalMs = DEFAULT_GUARD_CONFIG.intervalSeconds * 1000;
    // The interval is re-read at least every second, so a changed interval takes effect at once, not after the old one.
    const loop = async () => {
      if (!this.running) return;
      try {
        intervalMs = (await loadGuard(this.opts.db)).config.intervalSeconds * 1000;
        if (Date.now() - lastTick >= intervalMs) {
          lastTick = Date.now();
          await this.tick();
        }
      } catch (error) {
        this.log(`guard evaluation failed: ${(error as Error).message}`);
      }
      if (this.running) {
        this.timer = setTimeout(() => void loop(), Math.max(50, Math.min(1_000, lastTick + intervalMs - Date.now())));
        this.timer.unref();
      }
    };
    this.timer = setTimeout(() => void loop(), 500);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking?.catch(() => {});
    await releaseInstanceLease({ db: this.opts.db, name: 'guard', instanceId: this.instanceId });
    await this.flushWebhooks();
  }

  /** Waits for the webhooks sent so far (tests). */
  flushWebhooks(): Promise<void> {
    return this.decider.notifier.flush();
  }

  /** Leader if this instance holds (or just took) the lease; the lease lasts three intervals. */
  acquireLease(req: { now: Date; intervalSeconds: number }): Promise<boolean> {
    return acquireInstanceLease({
      db: this.opts.db,
      name: 'guard',
      instanceId: this.instanceId,
      now: req.now,
      ttlMs: Math.max(3_000, 3 * req.intervalSeconds * 1000),
      onTaken: () => this.log(`guard: this instance (${this.instanceId}) now decides`),
    });
  }

  /** One evaluation; concurrent calls share it. */
  tick(): Promise<TTickResult> {
    if (this.ticking) return this.ticking;
    this.ticking = this.evaluate().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async evaluate(): Promise<TTickResult> {
    if (this.stopped) return { leader: false };
    const d = this.decider;
    const now = this.opts.now();
    let row = await loadGuard(d.db);
    if (!(await this.acquireLease({ now, intervalSeconds: row.config.intervalSeconds }))) return { leader: false };
    const reading = await computeSignals({
      db: d.db,
      now,
      config: row.config,
      offlineAfterMs: this.opts.offlineAfterMs,
    });
    const { signals } = reading;
    await decideDrills({ decider: d, row, signals }).catch((e: Error) => this.log(`guard drill failed: ${e.message}`));
    row = await loadGuard(d.db);
    const runtime: TGuardRuntime = {
      ...row.runtime,
      rules: { ...row.runtime.rules },
      lastEvalAt: now.toISOString(),
      lastEvalBy: this.instanceId,
    };
    const result = {
      leader: true,
      armed: row.armed,
      moves: [] as NonNullable<TTickResult['moves']>,
      events: [] as string[],
    };
    const lost = { ...result, lost: true };
    let seq: number | null = row.seq;
    for (const rule of row.config.rules) {
      const prev = runtime.rules[rule.id] ?? emptyRuleRuntime();
      const value = signalFor(reading, rule);
      if (!row.armed || !rule.enabled) {
        // Still charted while disarmed; nothing decided.
        runtime.rules[rule.id] = {
          ...prev,
          lastValue: value,
          series: [...prev.series, [now.getTime(), value] as [number, number | null]].slice(-240),
        };
        continue;
      }
      const ctx = { row, runtime, signals, now, value, seq };
      seq = await checkOverrides({ decider: d, rule, prev, move: ctx });
      if (seq === null) return lost;
      const decision = decideRule({
        rule,
        prev: runtime.rules[rule.id] ?? prev,
        value,
        now,
        noDataReason: signals.data ? 'no data' : signals.reason,
      });
      runtime.rules[rule.id] = decision.rt;
      const events = decision.events.map((e) => phaseEvent({ kind: e, rule, rt: decision.rt, signals, value }));
      if (decision.move) {
        const moved = await moveLadder({ decider: d, rule, dir: decision.move, move: { ...ctx, seq }, events });
        seq = moved.seq;
        if (seq === null) return lost;
        if (moved.step !== null)
          result.moves.push({ rule: rule.id, move: decision.move, step: moved.step, status: moved.status });
      } else if (events.length) {
        seq = await commitGuard({ decider: d, seq, runtime, events, guardVersion: row.configVersion });
      }
      if (seq === null) return lost;
      result.events.push(...events.map((e) => e.kind));
    }
    if ((await commitGuard({ decider: d, seq, runtime, events: [], guardVersion: row.configVersion })) === null)
      return lost;
    return result;
  }
}
