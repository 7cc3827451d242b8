/**
 * The circuit breaker: after `failures` consecutive calls Coolant did not answer, stop calling it
 * for `coolDownMs` (every call is refused at once, no connection opened), then let one probe through;
 * the probe's answer closes the breaker again, its failure opens it for another cool-down.
 */

export type TBreakerState = 'closed' | 'open' | 'half_open';

export type TBreakerOptions = {
  /** Consecutive failures that open the breaker (default 5). */
  failures?: number;
  /** How long it stays open before a probe (default 5000 ms). */
  coolDownMs?: number;
  now?: () => number;
};

export class CircuitBreaker {
  private readonly threshold: number;
  private readonly coolDownMs: number;
  private readonly now: () => number;
  private consecutive = 0;
  private openedAt: number | null = null;
  private probing = false;

  constructor(opts: TBreakerOptions = {}) {
    this.threshold = opts.failures ?? 5;
    this.coolDownMs = opts.coolDownMs ?? 5000;
    this.now = opts.now ?? Date.now;
    if (!Number.isInteger(this.threshold) || this.threshold < 1)
      throw new Error(`breaker.failures must be a whole number ≥ 1, got ${String(opts.failures)}`);
    if (!Number.isFinite(this.coolDownMs) || this.coolDownMs < 0)
      throw new Error(`breaker.coolDownMs must be a number of milliseconds ≥ 0, got ${String(opts.coolDownMs)}`);
  }

  get state(): TBreakerState {
    if (this.openedAt === null) return 'closed';
    return this.now() - this.openedAt >= this.coolDownMs ? 'half_open' : 'open';
  }

  /** Whether a call may go out now; in half-open only one (the probe) until it settles. */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.consecutive = 0;
    this.openedAt = null;
    this.probing = false;
  }

  failure(): void {
    this.consecutive += 1;
    if (this.probing || this.consecutive >= this.threshold) this.openedAt = this.now();
    this.probing = false;
  }

  /** A call that went out but settled without telling anything about Coolant's health (e.g. a 4xx). */
  neutral(): void {
    if (this.probing) this.success();
  }
}
