/**
 * Whom a limit counts: `subject` (each end user on its own, the original meaning and the default)
 * or `tier` (all subjects of the tier together). A tier may have one of each on the same window,
 * so every lookup of a limit names its scope as well as its window.
 */
import { z } from 'zod';

export const LIMIT_SCOPES = ['subject', 'tier'] as const;
export const ZLimitScope = z.enum(LIMIT_SCOPES, {
  error: (issue) =>
    `scope must be "subject" or "tier"${issue.input === undefined ? '' : `, not ${JSON.stringify(issue.input)}`}`,
});
export type TLimitScope = z.infer<typeof ZLimitScope>;

export function isLimitScope(v: string): v is TLimitScope {
  return (LIMIT_SCOPES as readonly string[]).includes(v);
}
