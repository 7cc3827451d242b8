import type { TConsumeResponse, TPolicy } from '../domain/admission/types';
import { WINDOW_MINUTES } from '../domain/admission/windows';

/**
 * RateLimit-Policy / RateLimit fields of draft-ietf-httpapi-ratelimit-headers
 * (structured-field lists): one policy per limit checked, named
 * "<tier>-<window>" (a limit of the whole tier "<tier>-<window>-tier": no subject
 * policy name ends in -tier), with quota q and window w in seconds; RateLimit
 * gives the remaining units r and seconds to reset t. Retry-After only when refused.
 */
export function rateLimitHeaders(r: TConsumeResponse, nowMs: number): Record<string, string> {
  const headers: Record<string, string> = {};
  if (r.policies.length > 0) {
    const name = (p: TPolicy) => `"${r.tier}-${p.window}${p.scope === 'tier' ? '-tier' : ''}"`;
    headers['RateLimit-Policy'] = r.policies
      .map((p) => `${name(p)};q=${p.limit};w=${WINDOW_MINUTES[p.window] * 60}`)
      .join(', ');
    headers['RateLimit'] = r.policies
      .map((p) => `${name(p)};r=${p.remaining};t=${Math.max(0, Math.ceil((Date.parse(p.resetAt) - nowMs) / 1000))}`)
      .join(', ');
  }
  if (!r.allowed && r.retryAfterSeconds !== null) headers['Retry-After'] = String(r.retryAfterSeconds);
  return headers;
}
