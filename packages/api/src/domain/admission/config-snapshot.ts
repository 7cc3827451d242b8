import type { TDb, TDbTx } from '@coolant/db';
import { isWindow, WINDOWS, type TWindow } from './windows';

export type TFailMode = 'open' | 'closed';

export type TLimitState = {
  window: TWindow;
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
    const limits: TLimitState[] = [];
    for (const window of WINDOWS) {
      const base = t.limits.find((l) => l.window === window)?.limit ?? null;
      const temp = t.tempLimits.find((l) => l.window === window) ?? null;
      if (base === null && temp === null) continue;
      limits.push({
        window,
        base,
        temp: temp
          ? { id: temp.id, limit: temp.limit, until: temp.until, reason: temp.reason, createdBy: temp.createdBy }
          : null,
      });
    }
    map.set(t.name, {
      id: t.id,
      name: t.name,
      failMode: t.failMode === 'open' ? 'open' : 'closed',
      retired: t.retiredAt !== null,
      pause: t.pausedAt
        ? { at: t.pausedAt, by: t.pausedBy, reason: t.pauseReason, resumeAt: t.resumeAt, version: t.pauseVersion }
        : null,
      limits: limits.filter((l) => isWindow(l.window)),
    });
  }
  return { version, loadedAt: now, tiers: map };
}

export type TEffectiveLimit = { window: TWindow; limit: number; source: 'base' | 'temporary'; until: Date | null };

/** The limits in force at `now`: a temporary limit wins until it expires, then the base limit is back. */
export function effectiveLimits(tier: TTierConfig, now: Date): TEffectiveLimit[] {
  const out: TEffectiveLimit[] = [];
  for (const l of tier.limits) {
    if (l.temp && l.temp.until > now)
      out.push({ window: l.window, limit: l.temp.limit, source: 'temporary', until: l.temp.until });
    else if (l.base !== null) out.push({ window: l.window, limit: l.base, source: 'base', until: null });
  }
  return out;
}

/** Paused now? A scheduled resume takes effect at resumeAt without anything having to run. */
export function isPaused(tier: TTierConfig, now: Date): boolean {
  return tier.pause !== null && (tier.pause.resumeAt === null || tier.pause.resumeAt > now);
}
