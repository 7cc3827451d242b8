/**
 * Tiers as operators see them: limits in force per window and scope, temporary limits with time
 * left, concurrency bounds, pause state with how far it has propagated, and the last hour of
 * decisions per minute. Limits and bounds are read here, beside the admission snapshot's pause
 * state, so what is shown is what is stored in every scope whatever the snapshot folds.
 */
import type { TDb } from '@coolant/db';
import { INSTANCE_LIVE_MS } from '../admission/config-sync';
import { isPaused, loadConfigSnapshot } from '../admission/config-snapshot';
import { limitRows, tierLimitsSelect } from './limit-rows';
import { propagationOf } from './propagation';

export async function listTiers(req: { db: TDb; now: Date; includeRetired: boolean }) {
  const { db, now } = req;
  const snapshot = await loadConfigSnapshot(db, now);
  const stored = new Map((await db.tier.findMany({ select: tierLimitsSelect(now) })).map((t) => [t.id, t] as const));
  const liveSince = new Date(now.getTime() - INSTANCE_LIVE_MS);
  const instances = await db.instance.findMany({
    where: { heartbeatAt: { gte: liveSince } },
    orderBy: { startedAt: 'asc' },
  });
  const minuteNow = Math.floor(now.getTime() / 60_000);
  const stats = await db.admissionStat.findMany({
    where: { minute: { gt: minuteNow - 60 } },
    orderBy: { minute: 'asc' },
  });
  const pauseVersions = [...snapshot.tiers.values()]
    .map((t) => t.pause?.version)
    .filter((v): v is number => typeof v === 'number');
  const applications = pauseVersions.length
    ? await db.configApplication.findMany({
        where: { version: { gte: Math.min(...pauseVersions) }, instanceId: { in: instances.map((i) => i.id) } },
      })
    : [];

  const tiers = [...snapshot.tiers.values()]
    .filter((t) => req.includeRetired || !t.retired)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => {
      let propagation = null;
      if (t.pause?.version != null) {
        const p = propagationOf({ version: t.pause.version, instanceIds: instances.map((i) => i.id), applications });
        propagation = {
          issuedAt: t.pause.at.toISOString(),
          instances: p.instances.map((i) => ({
            instanceId: i.instanceId,
            appliedAt: i.appliedAt?.toISOString() ?? null,
          })),
          appliedByAll: p.appliedByAllAt !== null,
          lastAppliedAt: p.appliedByAllAt?.toISOString() ?? null,
        };
      }
      const tierStats = stats.filter((s) => s.tierName === t.name);
      return {
        id: t.id,
        name: t.name,
        failMode: t.failMode,
        retired: t.retired,
        paused: isPaused(t, now),
        pause:
          t.pause && isPaused(t, now)
            ? {
                at: t.pause.at.toISOString(),
                by: t.pause.by,
                reason: t.pause.reason,
                resumeAt: t.pause.resumeAt?.toISOString() ?? null,
                propagation,
              }
            : null,
        limits: limitRows({ tier: stored.get(t.id), now }),
        concurrency: {
          perTier: stored.get(t.id)?.concurrencyPerTier ?? null,
          perSubject: stored.get(t.id)?.concurrencyPerSubject ?? null,
        },
        lastHour: {
          allowed: tierStats.reduce((n, s) => n + s.allowed, 0),
          denied: tierStats.reduce((n, s) => n + s.denied, 0),
          perMinute: tierStats.map((s) => ({
            minute: new Date(s.minute * 60_000).toISOString(),
            allowed: s.allowed,
            denied: s.denied,
          })),
        },
      };
    });
  return {
    configVersion: snapshot.version,
    instances: instances.map((i) => ({
      id: i.id,
      hostname: i.hostname,
      pid: i.pid,
      configVersion: i.configVersion,
      appliedAt: i.appliedAt.toISOString(),
      heartbeatAt: i.heartbeatAt.toISOString(),
    })),
    tiers,
  };
}
