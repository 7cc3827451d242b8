/**
 * One call to Coolant over plain fetch in its wire format (POST a JSON body, or GET with ?input=;
 * answers `{"result":{"data":…}}` or tRPC's error JSON), bounded by a per-attempt timeout and retried
 * only where a retry cannot do a thing twice: the caller passes the same body (with the same
 * requestId) to every attempt. Outcomes feed the circuit breaker.
 */
import type { CircuitBreaker } from './breaker';
import { CoolantCallError, CoolantUnavailableError } from './errors';
import type { TWireError } from './wire';

export type TCall = {
  url: string;
  path: string;
  method: 'POST' | 'GET';
  input: unknown;
  token: string;
  timeoutMs: number;
  /** Further attempts after the first failed one (timeouts, network errors, 5xx). */
  retries: number;
  breaker: CircuitBreaker | null;
  fetch: typeof fetch;
};

async function attempt<T>(c: TCall): Promise<T> {
  const target =
    c.method === 'GET'
      ? `${c.url}/api/trpc/${c.path}${c.input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(c.input))}`}`
      : `${c.url}/api/trpc/${c.path}`;
  let res: Response;
  let text: string;
  try {
    const signal = AbortSignal.timeout(c.timeoutMs);
    res = await c.fetch(target, {
      method: c.method,
      headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
      ...(c.method === 'POST' ? { body: JSON.stringify(c.input ?? null) } : {}),
      signal,
    });
    text = await res.text();
  } catch (e) {
    const name = e instanceof Error ? e.name : '';
    if (name === 'TimeoutError' || name === 'AbortError')
      throw new CoolantUnavailableError(`${c.path}: no answer within ${c.timeoutMs} ms`, 'timeout');
    const why = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
    throw new CoolantUnavailableError(`${c.path}: ${why}`, 'network');
  }
  type TEnvelope = { result?: { data: T }; error?: TWireError };
  let body: TEnvelope | null;
  try {
    body = JSON.parse(text) as TEnvelope | null;
  } catch {
    body = null;
  }
  if (res.status >= 500 || (!res.ok && !body?.error)) {
    const msg = body?.error?.message ?? text.slice(0, 200);
    throw new CoolantUnavailableError(`${c.path}: HTTP ${res.status}${msg ? `: ${msg}` : ''}`, 'server_error');
  }
  if (body?.error) {
    throw new CoolantCallError(
      `${c.path}: ${body.error.message}`,
      res.status,
      body.error.data?.code ?? String(res.status),
    );
  }
  if (!body?.result) {
    throw new CoolantUnavailableError(`${c.path}: HTTP ${res.status} without a tRPC result`, 'server_error');
  }
  return body.result.data;
}

export async function call<T>(c: TCall): Promise<T> {
  let last: CoolantUnavailableError | null = null;
  for (let i = 0; i <= c.retries; i++) {
    if (c.breaker && !c.breaker.tryAcquire()) {
      throw last ?? new CoolantUnavailableError(`${c.path}: circuit breaker open, Coolant not called`, 'breaker_open');
    }
    try {
      const data = await attempt<T>(c);
      c.breaker?.success();
      return data;
    } catch (e) {
      if (e instanceof CoolantCallError) {
        c.breaker?.neutral();
        throw e;
      }
      c.breaker?.failure();
      last = e instanceof CoolantUnavailableError ? e : new CoolantUnavailableError(String(e), 'network');
    }
  }
  throw last!;
}
