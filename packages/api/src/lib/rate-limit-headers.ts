import type { TConsumeResponse } from '../domain/admission/types';
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
  const policies = r.policies;
  if (policies.length > 0) {
    // Both fields in one pass over the policies (a loop, not map/join with a closure per answer).
    let policy = '';
    let left = '';
    for (let i = 0; i < policies.length; i++) {
      const p = policies[i]!;
      const name = `"${r.tier}-${p.window}${p.scope === 'tier' ? '-tier' : ''}"`;
      const sep = i === 0 ? '' : ', ';
      policy += `${sep}${name};q=${p.limit};w=${WINDOW_MINUTES[p.window] * 60}`;
      left += `${sep}${name};r=${p.remaining};t=${Math.max(0, Math.ceil((Date.parse(p.resetAt) - nowMs) / 1000))}`;
    }
    headers['RateLimit-Policy'] = policy;
    headers['RateLimit'] = left;
  }
  if (!r.allowed && r.retryAfterSeconds !== null) headers['Retry-After'] = String(r.retryAfterSeconds);
  return headers;
}
