/**
 * Each tier's failMode, learned from `tiers.list` while Coolant answers and kept for when it does
 * not: that is the one moment it is needed and the one moment it cannot be asked. Refreshed in the
 * background (a timer that does not keep the process alive); a failed refresh keeps the last list.
 */
import type { CircuitBreaker } from './breaker';
import { call } from './transport';
import type { TFailMode, TTiersListAnswer } from './wire';

export type TFailModeCacheOptions = {
  url: string;
  token: string;
  timeoutMs: number;
  refreshMs: number;
  initial: Record<string, TFailMode>;
  breaker: CircuitBreaker;
  fetch: typeof fetch;
};

export class FailModeCache {
  private modes: Map<string, TFailMode>;
  private timer: ReturnType<typeof setInterval> | null = null;
  private loading: Promise<void> | null = null;
  /** When the list was last read (ms since epoch); null: never. */
  loadedAt: number | null = null;
  lastError: Error | null = null;

  constructor(private readonly opts: TFailModeCacheOptions) {
    this.modes = new Map(Object.entries(opts.initial));
  }

  get(tier: string): TFailMode | null {
    return this.modes.get(tier) ?? null;
  }

  snapshot(): Record<string, TFailMode> {
    return Object.fromEntries(this.modes);
  }

  /** Reads tiers.list now; rejects with the reason when it cannot (the cache keeps what it had). */
  refresh(): Promise<void> {
    // Not while the breaker is open: a Coolant that is down is not asked for its tiers either.
    if (this.opts.breaker.state === 'open') return Promise.resolve();
    this.loading ??= call<TTiersListAnswer>({
      url: this.opts.url,
      path: 'tiers.list',
      method: 'GET',
      input: undefined,
      token: this.opts.token,
      timeoutMs: this.opts.timeoutMs,
      retries: 0,
      breaker: null,
      fetch: this.opts.fetch,
    })
      .then((list) => {
        this.modes = new Map([
          ...Object.entries(this.opts.initial),
          ...list.tiers.map((t) => [t.name, t.failMode] as const),
        ]);
        this.loadedAt = Date.now();
        this.lastError = null;
      })
      .catch((e: unknown) => {
        this.lastError = e instanceof Error ? e : new Error(String(e));
        throw this.lastError;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  start(): void {
    if (this.timer || this.opts.refreshMs <= 0) return;
    this.refresh().catch(() => {});
    this.timer = setInterval(() => this.refresh().catch(() => {}), this.opts.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
