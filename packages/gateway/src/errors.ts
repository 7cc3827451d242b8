/**
 * Two kinds of failure a gateway must tell apart: Coolant did not answer (down, slow, 5xx, breaker
 * open: the tier's fail mode decides admissions), and Coolant answered no to the call itself (bad
 * input, a token that may not call it: a bug to fix, never covered up by a fail mode).
 */

export class CoolantUnavailableError extends Error {
  override readonly name = 'CoolantUnavailableError';
  constructor(
    message: string,
    /** 'breaker_open' when no call went out. */
    readonly kind: 'timeout' | 'network' | 'server_error' | 'breaker_open',
  ) {
    super(message);
  }
}

export class CoolantCallError extends Error {
  override readonly name = 'CoolantCallError';
  constructor(
    message: string,
    readonly status: number,
    /** tRPC's error code (BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, …). */
    readonly code: string,
  ) {
    super(message);
  }
}
