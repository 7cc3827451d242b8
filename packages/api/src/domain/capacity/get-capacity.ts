/**
 * capacity.get: the settings, C as every instance applies it (the snapshot, measured again when
 * older than the refresh interval, so the answer is fresh even where no background loop runs),
 * and per tier its share, R(t), what it has in flight and what of that it borrows.
 */
import type { TDb } from '@coolant/db';
import { readCapacitySettings, readCapacityShares } from './capacity-config';
import { describeCapacity, reservedSlots } from './capacity-rule';
import { capacityState, refreshCapacitySnapshot } from './capacity-snapshot';
import { readCapacityRules } from './compute-capacity';
import { countInflight, readLeaseTotals } from './lease-counts';

export async function getCapacity(req: { db: TDb; now: Date; instanceId: string; offlineAfterMs: number }) {
  const { db, now } = req;
  const settings = await readCapacitySettings(db);
  const [snapshot, shares, inflight, totals, rules] = await Promise.all([
    refreshCapacitySnapshot({ db, now, instanceId: req.instanceId, offlineAfterMs: req.offlineAfterMs, settings }),
    readCapacityShares(db),
    countInflight({ db, now }),
    readLeaseTotals({ db }),
    readCapacityRules({ db }),
  ]);
  const state = capacityState({ enabled: settings.enabled, snapshot, now, stallSeconds: rules.stallSeconds });
  const slots = snapshot.slots;
  const tiers = shares.map((s) => {
    const R = reservedSlots(s.reserved, slots);
    const n = inflight.get(s.tierId) ?? 0;
    return {
      tier: s.tier,
      priority: s.priority,
      reserved: s.reserved,
      reservedSlots: R,
      inflight: n,
      borrowed: Math.max(0, n - R),
      leasesExpired: totals.get(s.tierId)?.expired ?? 0,
      summary: describeCapacity({
        tier: s.tier,
        inflight: n,
        slots,
        reserved: s.reserved,
        hotGpus: snapshot.hotGpus,
        nodesOffline: snapshot.nodesOffline,
      }),
    };
  });
  const totalInflight = [...inflight.values()].reduce((a, b) => a + b, 0);
  return {
    enabled: settings.enabled,
    state: state.state,
    stateReason: state.state === 'unknown' ? state.why : null,
    slots,
    usableGpus: snapshot.usableGpus,
    hotGpus: snapshot.hotGpus,
    gpusTotal: snapshot.gpusTotal,
    gpusUnusable: snapshot.gpusUnusable,
    nodesOnline: snapshot.nodesOnline,
    nodesOffline: snapshot.nodesOffline,
    telemetryAt: snapshot.telemetryAt?.toISOString() ?? null,
    computedAt: snapshot.computedAt.toISOString(),
    computedBy: snapshot.computedBy,
    inflight: totalInflight,
    free: Math.max(0, slots - totalInflight),
    slotsPerGpu: settings.slotsPerGpu,
    slotsPerModel: settings.slotsPerModel,
    hotWeight: settings.hotWeight,
    hotTemperatureC: rules.hotTemperatureC,
    tiers,
  };
}

export type TCapacityView = Awaited<ReturnType<typeof getCapacity>>;
