// The configuration every decision reads (tiers, their pause, their limits per window and scope),
// loaded whole into memory by each console instance and replaced on any change (config-sync.ts).
import type { TDb, TDbTx } from '@coolant/db';
import { LIMIT_SCOPES, type TLimitScope } from '../tiers/limit-scope';
import { WINDOWS, type TWindow } from './windows';

export type TFailMode = 'open' | 'closed';

/** One (window, scope) of a tier: its base limit and the temporary one in force over it. */
export type TLimitState = {
  window: TWindow;
  scope: TLimitScope;
  base: number | null;
  temp: { id: string; limit: number; until: Date; reason: string; createdBy: string } | null;
};

export type TPause = {
  at: Date;
  by: string | null;
  reason: string | null;
  resumeAt: Date | null;
  version: number | null;
};

export type TTierConfig = {
  id: string;
  name: string;
  failMode: TFailMode;
  retired: boolean;
  pause: TPause | null;
  limits: TLimitState[];
};

/** Everything a decision needs, held in memory by each console instance. */
export type TConfigSnapshot = {
  version: number;
  loadedAt: Date;
  tiers: Map<string, TTierConfig>;
};

type TStoredLimit = { window: string; scope: string; limit: number };
type TStoredTemp = TStoredLimit & { id: string; until: Date; reason: string; createdBy: string };

/**
 * Subject limits first, then the tier's, each in window order. A limit is keyed by (window, scope):
 * a tier-scope limit is never taken for the per-subject one of its window, nor the reverse, and a
 * temporary limit overrides the base of its own scope only. Rows of another window or scope name
 * (none are written) are not limits.
 */
function limitStates(limits: TStoredLimit[], temps: TStoredTemp[]): TLimitState[] {
  const out: TLimitState[] = [];
  for (const scope of LIMIT_SCOPES) {
    for (const window of WINDOWS) {
      const base = limits.find((l) => l.window === window && l.scope === scope)?.limit ?? null;
      // Newest first: the latest temporary limit set on this (window, scope) is the one in force.
      const temp = temps.find((l) => l.window === window && l.scope === scope) ?? null;
      if (base === null && temp === null) continue;
      out.push({
        window,
        scope,
        base,
        temp: temp
          ? { id: temp.id, limit: temp.limit, until: temp.until, reason: temp.reason, createdBy: temp.createdBy }
          : null,
      });
    }
  }
  return out;
}

export async function readConfigVersion(db: TDb | TDbTx): Promise<number> {
  const row = await db.configState.findUnique({ where: { id: 1 } });
  return row?.version ?? 0;
}

export async function loadConfigSnapshot(db: TDb, now: Date): Promise<TConfigSnapshot> {
  // Version first: if a change lands while we read, the next reload sees a newer version and re-reads.
  const version = await readConfigVersion(db);
  const tiers = await db.tier.findMany({
    include: {
      limits: true,
      tempLimits: { where: { clearedAt: null, until: { gt: now } }, orderBy: { createdAt: 'desc' } },
    },
  });
  const map = new Map<string, TTierConfig>();
  for (const t of tiers) {
    map.set(t.name, {
      id: t.id,
      name: t.name,
      failMode: t.failMode === 'open' ? 'open' : 'closed',
      retired: t.retiredAt !== null,
      pause: t.pausedAt
        ? { at: t.pausedAt, by: t.pausedBy, reason: t.pauseReason, resumeAt: t.resumeAt, version: t.pauseVersion }
        : null,
      limits: limitStates(t.limits, t.tempLimits),
    });
  }
  return { version, loadedAt: now, tiers: map };
}

export type TEffectiveLimit = {
  window: TWindow;
  scope: TLimitScope;
  limit: number;
  source: 'base' | 'temporary';
  until: Date | null;
};

/** The limits in force at `now`: a temporary limit wins until it expires, then the base limit (of its scope) is back. */
export function effectiveLimits(tier: TTierConfig, now: Date): TEffectiveLimit[] {
  const out: TEffectiveLimit[] = [];
  for (const l of tier.limits) {
    if (l.temp && l.temp.until > now)
      out.push({ window: l.window, scope: l.scope, limit: l.temp.limit, source: 'temporary', until: l.temp.until });
    else if (l.base !== null)
      out.push({ window: l.window, scope: l.scope, limit: l.base, source: 'base', until: null });
  }
  return out;
}

/** Paused now? A scheduled resume takes effect at resumeAt without anything having to run. */
export function isPaused(tier: TTierConfig, now: Date): boolean {
  return tier.pause !== null && (tier.pause.resumeAt === null || tier.pause.resumeAt > now);
}
