/**
 * A tier's limits as tiers.list shows them, one row per (scope, window): the three subject windows
 * always (as before scopes existed, so a reader that looks a window up finds the subject row
 * first), a tier-scope window only where it has a base or a temporary limit. The temporary limit
 * in force wins over the base of the same window and scope until it expires.
 */
import type { Prisma } from '@coolant/db';
import { WINDOWS } from '../admission/windows';
import { LIMIT_SCOPES } from './limit-scope';

export function tierLimitsSelect(now: Date) {
  return {
    id: true,
    concurrencyPerTier: true,
    concurrencyPerSubject: true,
    limits: { select: { window: true, scope: true, limit: true } },
    tempLimits: {
      where: { clearedAt: null, until: { gt: now } },
      orderBy: { createdAt: 'desc' },
      select: { window: true, scope: true, limit: true, until: true, reason: true, createdBy: true },
    },
  } satisfies Prisma.TierSelect;
}
type TStoredLimits = Prisma.TierGetPayload<{ select: ReturnType<typeof tierLimitsSelect> }>;

export function limitRows(req: { tier: TStoredLimits | undefined; now: Date }) {
  const { tier, now } = req;
  return LIMIT_SCOPES.flatMap((scope) =>
    WINDOWS.flatMap((window) => {
      const base = tier?.limits.find((l) => l.window === window && l.scope === scope)?.limit ?? null;
      const temp = tier?.tempLimits.find((l) => l.window === window && l.scope === scope && l.until > now) ?? null;
      if (scope !== 'subject' && base === null && temp === null) return [];
      return [
        {
          window,
          scope,
          base,
          temporary: temp
            ? {
                limit: temp.limit,
                until: temp.until.toISOString(),
                reason: temp.reason,
                createdBy: temp.createdBy,
                secondsLeft: Math.ceil((temp.until.getTime() - now.getTime()) / 1000),
              }
            : null,
          effective: temp ? temp.limit : base,
        },
      ];
    }),
  );
}
