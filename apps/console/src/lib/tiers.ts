import type { AppRouter } from '@coolant/api/client';
import { clockMs, duration } from './format';
import type { inferRouterOutputs } from '@trpc/server';

export type TTiersList = inferRouterOutputs<AppRouter>['tiers']['list'];
export type TTier = TTiersList['tiers'][number];
export type TTierLimit = TTier['limits'][number];
export type TWindow = TTierLimit['window'];
export type TLimitScope = TTierLimit['scope'];
export type TConcurrency = TTier['concurrency'];
export type TInstance = TTiersList['instances'][number];

export const WINDOWS: readonly TWindow[] = ['minute', 'hour', 'day'];

/** Whom a limit counts, in the words the page uses: each end user on its own, or the tier's subjects together. */
export const SCOPE_LABEL: Record<TLimitScope, string> = { subject: 'per user', tier: 'whole tier' };

/**
 * The header, the banner and the Tiers page all read this one query (same
 * input, same cache entry), so every page polls tiers.list once, not per widget.
 */
export const TIERS_LIST_INPUT = { includeRetired: true } as const;
export const TIERS_REFETCH_MS = 3_000;

/** Milliseconds are what a pause should take; an instance started after the pause shows up as minutes. */
function lag(ms: number): string {
  return ms < 10_000 ? `+${ms} ms` : `+${duration(ms / 1000)}`;
}

type TPropagation = NonNullable<NonNullable<TTier['pause']>['propagation']>;

/** How far a pause has landed: every live console instance must have applied it before it holds everywhere. */
export function propagationText(p: TPropagation | null): string {
  if (!p) return 'propagation not recorded';
  const n = p.instances.length;
  if (p.appliedByAll && p.lastAppliedAt) {
    return `applied by all ${n} instance${n === 1 ? '' : 's'} at ${clockMs(p.lastAppliedAt)} (${lag(Date.parse(p.lastAppliedAt) - Date.parse(p.issuedAt))} after issue)`;
  }
  if (n === 0) return 'waiting for a live console instance to apply it';
  const waiting = p.instances.filter((i) => !i.appliedAt).map((i) => i.instanceId);
  return `waiting for instance${waiting.length === 1 ? '' : 's'} ${waiting.join(', ')} (${n - waiting.length}/${n} applied)`;
}
