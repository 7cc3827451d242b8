/**
 * createGateway: what every gateway otherwise hand-writes around `admission.consume` — a timeout
 * per call, retries that cannot consume twice (one requestId for every attempt), a breaker that
 * stops calling a Coolant that is down, and, when Coolant cannot answer, the decision the tier's
 * failMode prescribes, said as such (`reason: 'coolant_unavailable'`, `failedOpen`).
 */
import { CircuitBreaker, type TBreakerOptions, type TBreakerState } from './breaker';
import { CoolantUnavailableError } from './errors';
import { FailModeCache } from './fail-modes';
import { call } from './transport';
import type { TConsumeAnswer, TFailMode, THeartbeatAnswer, TRefundAnswer, TReleaseAnswer } from './wire';

export type TGatewayOptions = {
  /** The console, e.g. http://coolant:3000 (no trailing /api). */
  url: string;
  /** A token that may call admission.*: role `gateway` (or operator/admin). */
  token: string;
  /**
   * A token that may read `tiers.list` (role viewer or above) to learn each tier's failMode; a
   * gateway token may not. Default: `token` (enough when it is an operator's).
   */
  tiersToken?: string;
  /** Per attempt (default 50 ms). */
  timeoutMs?: number;
  /** Attempts after the first for a call Coolant did not answer (default 1). */
  retries?: number;
  breaker?: TBreakerOptions;
  /** Fail modes known before tiers.list answers (and for tiers it does not list). */
  failModes?: Record<string, TFailMode>;
  /** For a tier whose failMode is not known (default 'closed'). */
  defaultFailMode?: TFailMode;
  /** How often tiers.list is read again (default 60 s; 0: only by `refreshFailModes()`). */
  failModeRefreshMs?: number;
  /** tiers.list is off the hot path: its own timeout (default 2000 ms). */
  tiersTimeoutMs?: number;
  fetch?: typeof fetch;
};

export type TAdmitRequest = {
  tier: string;
  subject: string;
  /** Units (default 1). */
  cost?: number;
  /** Makes the consume idempotent; generated when absent, so a retry never consumes twice. */
  requestId?: string;
  /** Also hold a generation lease for ttlSeconds (1–3600). */
  lease?: { ttlSeconds: number };
};

/** A lease Coolant granted; release it when the generation ends, heartbeat it while it runs longer. */
export type TLease = {
  id: string;
  expiresAt: string;
  release(outcome: 'done' | 'failed'): Promise<TReleaseAnswer>;
  heartbeat(ttlSeconds?: number): Promise<THeartbeatAnswer>;
};

/** Coolant's own decision. */
export type TCoolantDecision = Omit<TConsumeAnswer, 'lease'> & {
  source: 'coolant';
  failedOpen: false;
  requestId: string;
  lease: TLease | null;
};

/** Coolant could not answer: the tier's failMode decided. */
export type TFailModeDecision = {
  source: 'fail_mode';
  allowed: boolean;
  reason: 'coolant_unavailable';
  failedOpen: boolean;
  tier: string;
  requestId: string;
  /** The fail mode applied, and whether it was learned from tiers.list/options or the default. */
  failMode: TFailMode;
  failModeKnown: boolean;
  /** Why Coolant did not answer (timeout, network, server_error, breaker_open) and the detail. */
  unavailable: CoolantUnavailableError['kind'];
  message: string;
  lease: null;
};

export type TAdmitDecision = TCoolantDecision | TFailModeDecision;

export type TGateway = {
  admit(req: TAdmitRequest): Promise<TAdmitDecision>;
  /** End a lease by id (also `decision.lease.release()`); throws CoolantUnavailableError when Coolant cannot answer. */
  release(req: { lease: string; outcome: 'done' | 'failed' }): Promise<TReleaseAnswer>;
  heartbeat(req: { lease: string; ttlSeconds?: number }): Promise<THeartbeatAnswer>;
  /**
   * Give back what an admission without a lease consumed when its generation failed (the decision's
   * `ticket`); Coolant refunds a ticket once. Throws CoolantUnavailableError when Coolant cannot answer.
   */
  refund(req: { ticket: string }): Promise<TRefundAnswer>;
  /** Reads tiers.list now (rejects with the reason, e.g. a gateway token that may not read it). */
  refreshFailModes(): Promise<void>;
  failModes(): Record<string, TFailMode>;
  breakerState(): TBreakerState;
  /** Stops the background refresh of fail modes. */
  close(): void;
};

function positive(name: string, v: number | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v < min)
    throw new Error(`createGateway: ${name} must be a number ≥ ${min}, got ${String(v)}`);
  return v;
}

export function createGateway(opts: TGatewayOptions): TGateway {
  if (!opts || typeof opts.url !== 'string' || !/^https?:\/\//.test(opts.url))
    throw new Error(`createGateway: url must be an http(s) URL, got ${JSON.stringify(opts?.url)}`);
  if (typeof opts.token !== 'string' || opts.token === '')
    throw new Error('createGateway: token is required (an API token of role gateway)');
  const url = opts.url.replace(/\/+$/, '');
  const timeoutMs = positive('timeoutMs', opts.timeoutMs, 50);
  const retries = positive('retries', opts.retries, 1, 0);
  const defaultFailMode = opts.defaultFailMode ?? 'closed';
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const breaker = new CircuitBreaker(opts.breaker);
  const cache = new FailModeCache({
    url,
    token: opts.tiersToken ?? opts.token,
    timeoutMs: positive('tiersTimeoutMs', opts.tiersTimeoutMs, 2000),
    refreshMs: positive('failModeRefreshMs', opts.failModeRefreshMs, 60_000, 0),
    initial: opts.failModes ?? {},
    breaker,
    fetch: fetchImpl,
  });
  cache.start();

  const mutate = <T>(path: string, input: unknown) =>
    call<T>({ url, path, method: 'POST', input, token: opts.token, timeoutMs, retries, breaker, fetch: fetchImpl });

  const release: TGateway['release'] = (req) => mutate<TReleaseAnswer>('admission.release', req);
  const heartbeat: TGateway['heartbeat'] = (req) =>
    mutate<THeartbeatAnswer>('admission.heartbeat', req.ttlSeconds === undefined ? { lease: req.lease } : req);

  const refund: TGateway['refund'] = (req) => mutate<TRefundAnswer>('admission.refund', { ticket: req.ticket });

  const leaseHandle = (l: { id: string; expiresAt: string }): TLease => ({
    id: l.id,
    expiresAt: l.expiresAt,
    release: (outcome) => release({ lease: l.id, outcome }),
    heartbeat: (ttlSeconds) => heartbeat(ttlSeconds === undefined ? { lease: l.id } : { lease: l.id, ttlSeconds }),
  });

  return {
    async admit(req) {
      const requestId = req.requestId ?? globalThis.crypto.randomUUID();
      const input = {
        tier: req.tier,
        subject: req.subject,
        cost: req.cost ?? 1,
        requestId,
        ...(req.lease ? { lease: { ttlSeconds: req.lease.ttlSeconds } } : {}),
      };
      try {
        const a = await mutate<TConsumeAnswer>('admission.consume', input);
        return { ...a, source: 'coolant', failedOpen: false, requestId, lease: a.lease ? leaseHandle(a.lease) : null };
      } catch (e) {
        if (!(e instanceof CoolantUnavailableError)) throw e;
        const known = cache.get(req.tier);
        const failMode = known ?? defaultFailMode;
        const allowed = failMode === 'open';
        return {
          source: 'fail_mode',
          allowed,
          reason: 'coolant_unavailable',
          failedOpen: allowed,
          tier: req.tier,
          requestId,
          failMode,
          failModeKnown: known !== null,
          unavailable: e.kind,
          message: e.message,
          lease: null,
        };
      }
    },
    release,
    heartbeat,
    refund,
    refreshFailModes: () => cache.refresh(),
    failModes: () => cache.snapshot(),
    breakerState: () => breaker.state,
    close: () => cache.stop(),
  };
}
