import { getErrorShape, type TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { TContext } from './context';
import { HOT_PROCEDURES } from './hot-procedures';
import { AppError } from './lib/app-error';
import { toTRPCError, trpcConfig } from './trpc';

/**
 * The one place an error becomes an HTTP answer (status, headers, tRPC's
 * error shape) and the one place an answer's own headers are chosen. tRPC's
 * adapter (through responseMeta) and the console's plain-HTTP path both use
 * it, so a caller cannot tell which path answered.
 */

export type TErrorAnswer = { status: number; headers: Record<string, string>; shape: unknown; error: TRPCError };

/** Retry-After of an error: 1 s for an outage, the throttle's own wait for TOO_MANY_REQUESTS. */
export function errorHeaders(error: TRPCError): Record<string, string> {
  if (error.code === 'SERVICE_UNAVAILABLE') return { 'retry-after': '1' };
  if (error.code === 'TOO_MANY_REQUESTS' && error.cause instanceof AppError) {
    const seconds = error.cause.details?.retryAfterSeconds;
    if (typeof seconds === 'number' && Number.isFinite(seconds))
      return { 'retry-after': String(Math.max(1, Math.ceil(seconds))) };
  }
  return {};
}

/** Any failure (AppError, TRPCError, a driver's error) as tRPC would answer it. */
export function errorAnswer(
  cause: unknown,
  opts: { path?: string | undefined; input?: unknown; ctx?: TContext | undefined } = {},
): TErrorAnswer {
  const error = toTRPCError(cause);
  const shape = getErrorShape({
    config: trpcConfig,
    error,
    type: 'unknown',
    path: opts.path,
    input: opts.input,
    ctx: opts.ctx,
  });
  return { status: getHTTPStatusCodeFromError(error), headers: errorHeaders(error), shape, error };
}

/** Headers that belong to a successful answer of `path` (the RateLimit fields of a decision). */
export function resultHeaders(path: string, data: unknown, nowMs: number): Record<string, string> | null {
  const def = HOT_PROCEDURES.get(path);
  return def?.headers ? def.headers(data, nowMs) : null;
}
