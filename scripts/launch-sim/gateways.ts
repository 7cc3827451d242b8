/**
 * The simulated gateways: for each arrival, ask the console through @coolant/gateway (the client a
 * real gateway uses: admit, with a lease in fleet-aware mode), place the admitted generation on the
 * least-loaded GPU, and when it ends tell the console (the lease's release with its outcome;
 * without leases a failed generation's quota is refunded). A refusal is obeyed: the gateway waits
 * the answer's retryAfterSeconds (jittered) and asks again, and gives up after `maxAttempts` or
 * when the wait would pass `maxWaitSeconds` (or when the answer names no retry time). When the
 * console cannot answer in time, the client's fail-mode decision is obeyed too (and counted).
 */
import { CoolantCallError, CoolantUnavailableError, type TAdmitDecision, type TGateway } from '@coolant/gateway';
import type { TArrival, TTierName } from './demand';
import { rng } from './demand';
import type { GpuFleet } from './gpu-fleet';

export type TGatewayOptions = {
  leases: boolean;
  ttlSeconds: number;
  maxAttempts: number;
  maxWaitSeconds: number;
  /** Seconds since the launch started. */
  clock: () => number;
  /** When the nodes go dark (refusals are counted before and after it). */
  lossAt: number;
  seed: number;
};

export type TTierCounts = {
  requests: number;
  admitted: number;
  /** Refused decisions by reason; one request may collect several (its retries). */
  refused: Record<string, number>;
  refusedBeforeLoss: number;
  refusedAfterLoss: number;
  gaveUp: number;
  /** Admitted, but every live GPU was at its hardware limit. */
  noGpu: number;
  lostWithNode: number;
  done: number;
  /** The console answered with an error, or did not answer (the fail mode decided), by code. */
  errors: Record<string, number>;
  /** Decisions the tier's fail mode made because the console did not answer: allowed / refused. */
  failedOpen: number;
  failedClosed: number;
};

const emptyCounts = (): TTierCounts => ({
  requests: 0,
  admitted: 0,
  refused: {},
  refusedBeforeLoss: 0,
  refusedAfterLoss: 0,
  gaveUp: 0,
  noGpu: 0,
  lostWithNode: 0,
  done: 0,
  errors: {},
  failedOpen: 0,
  failedClosed: 0,
});

export class Gateways {
  readonly counts: Record<TTierName, TTierCounts> = { free: emptyCounts(), plus: emptyCounts(), pro: emptyCounts() };
  readonly leases = { granted: 0, released: 0, missing: 0, releaseErrors: {} as Record<string, number> };
  readonly latencies: number[] = [];
  decisions = 0;
  firstError: string | null = null;
  private inflight = 0;
  private readonly jitter: () => number;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly gateway: TGateway,
    private readonly fleet: GpuFleet,
    private readonly o: TGatewayOptions,
  ) {
    this.jitter = rng(o.seed ^ 0x5eed);
  }

  /** Requests not finished yet (asking, waiting to retry, or generating). */
  pending(): number {
    return this.inflight;
  }

  submit(a: TArrival): void {
    this.inflight++;
    this.counts[a.tier].requests++;
    void this.serve(a)
      .catch((e: unknown) => this.noteError(a.tier, 'SIM', (e as Error).message))
      .finally(() => {
        if (--this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  /** Resolves when nothing is pending, or after timeoutMs. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
    return new Promise((res) => {
      const t = setTimeout(() => res(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        res(true);
      });
    });
  }

  private noteError(tier: TTierName, code: string, message: string): void {
    const c = this.counts[tier];
    c.errors[code] = (c.errors[code] ?? 0) + 1;
    this.firstError ??= `${code}: ${message}`;
  }

  private async serve(a: TArrival): Promise<void> {
    const c = this.counts[a.tier];
    const started = this.o.clock();
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      let d: TAdmitDecision;
      try {
        d = await this.gateway.admit({
          tier: a.tier,
          subject: a.subject,
          cost: 1,
          requestId: `launch-${a.id}-${attempt}`,
          ...(this.o.leases ? { lease: { ttlSeconds: this.o.ttlSeconds } } : {}),
        });
      } catch (e) {
        // Coolant answered no to the call itself (CoolantCallError): not a decision, nothing to obey.
        this.decisions++;
        this.latencies.push(performance.now() - t0);
        this.noteError(a.tier, e instanceof CoolantCallError ? e.code : 'SIM', (e as Error).message);
        c.gaveUp++;
        return;
      }
      this.decisions++;
      this.latencies.push(performance.now() - t0);
      if (d.source === 'fail_mode') {
        this.noteError(a.tier, `UNAVAILABLE_${d.unavailable.toUpperCase()}`, d.message);
        if (d.allowed) {
          c.failedOpen++;
          return this.generate(a, d);
        }
        c.failedClosed++;
      }
      if (d.allowed) return this.generate(a, d);
      c.refused[d.reason] = (c.refused[d.reason] ?? 0) + 1;
      if (this.o.clock() < this.o.lossAt) c.refusedBeforeLoss++;
      else c.refusedAfterLoss++;
      const wait = d.source === 'coolant' ? d.retryAfterSeconds : null;
      if (wait === null || attempt >= this.o.maxAttempts || this.o.clock() - started + wait > this.o.maxWaitSeconds) {
        c.gaveUp++;
        return;
      }
      await sleep(Math.max(0.2, wait) * 1000 * (1 + 0.2 * this.jitter()));
    }
  }

  private async generate(a: TArrival, d: TAdmitDecision): Promise<void> {
    const c = this.counts[a.tier];
    c.admitted++;
    const lease = d.lease;
    if (this.o.leases) {
      if (lease) this.leases.granted++;
      else this.leases.missing++;
    }
    let finish: (outcome: 'done' | 'failed') => void = () => {};
    const ended = new Promise<'done' | 'failed'>((res) => (finish = res));
    const placed = this.fleet.place({ tier: a.tier, remaining: a.work, finish: (o) => finish(o) });
    let outcome: 'done' | 'failed';
    if (!placed) {
      c.noGpu++;
      outcome = 'failed';
    } else {
      outcome = await ended;
      if (outcome === 'done') c.done++;
      else c.lostWithNode++;
    }
    if (this.o.leases && lease) {
      this.decisions++;
      try {
        await lease.release(outcome);
        this.leases.released++;
      } catch (e) {
        const code = errorCode(e);
        this.leases.releaseErrors[code] = (this.leases.releaseErrors[code] ?? 0) + 1;
        this.firstError ??= `admission.release: ${code}: ${(e as Error).message}`;
      }
    } else if (!this.o.leases && outcome === 'failed' && d.source === 'coolant' && d.ticket) {
      this.decisions++;
      await this.gateway
        .refund({ ticket: d.ticket })
        .catch((e: unknown) => this.noteError(a.tier, errorCode(e), `admission.refund: ${(e as Error).message}`));
    }
  }
}

function errorCode(e: unknown): string {
  if (e instanceof CoolantCallError) return e.code;
  if (e instanceof CoolantUnavailableError) return `UNAVAILABLE_${e.kind.toUpperCase()}`;
  return 'SIM';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
