/**
 * Tiers as operators see them: limits in force, temporary limits with time
 * left, pause state with how far it has propagated, and the last hour of
 * decisions per minute.
 */
import type { TDb } from '@coolant/db';
import { INSTANCE_LIVE_MS } from '../admission/config-sync';
import { effectiveLimits, isPaused, loadConfigSnapshot } from '../admission/config-snapshot';
import { WINDOWS } from '../admission/windows';
import { propagationOf } from './propagation';

export async function listTiers(req: { db: TDb; now: Date; includeRetired: boolean }) {
  const { db, now } = req;
  const snapshot = await loadConfigSnapshot(db, now);
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
        limits: WINDOWS.map((w) => {
          const l = t.limits.find((x) => x.window === w);
          const eff = effectiveLimits(t, now).find((e) => e.window === w) ?? null;
          return {
            window: w,
            base: l?.base ?? null,
            temporary:
              l?.temp && l.temp.until > now
                ? {
                    limit: l.temp.limit,
                    until: l.temp.until.toISOString(),
                    reason: l.temp.reason,
                    createdBy: l.temp.createdBy,
                    secondsLeft: Math.ceil((l.temp.until.getTime() - now.getTime()) / 1000),
                  }
                : null,
            effective: eff?.limit ?? null,
          };
        }),
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
