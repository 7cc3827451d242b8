/** Capacity families of /metrics: C, whether it applies, and per tier R(t), leases in flight and expired leases. */
import type { TDb } from '@coolant/db';
import type { MetricsWriter } from '../../lib/prometheus';
import { getCapacity } from './get-capacity';

export async function writeCapacityMetrics(req: {
  db: TDb;
  now: Date;
  instanceId: string;
  offlineAfterMs: number;
  m: MetricsWriter;
}): Promise<void> {
  const { m } = req;
  const c = await getCapacity(req);
  m.family('coolant_capacity_enabled', 'gauge', '1 while capacity admission is enabled, else 0.', [
    { value: c.enabled ? 1 : 0 },
  ]);
  m.family(
    'coolant_capacity_known',
    'gauge',
    '1 while fleet capacity is known, 0 when telemetry stalled (each tier failMode decides).',
    [{ value: c.state === 'unknown' ? 0 : 1 }],
  );
  m.family('coolant_capacity_slots', 'gauge', 'Fleet capacity C: slots of usable GPUs, hot GPUs weighted.', [
    { value: c.slots },
  ]);
  m.family('coolant_capacity_usable_gpus', 'gauge', 'GPUs counted in C (node online, present, collector healthy).', [
    { value: c.usableGpus },
  ]);
  m.family(
    'coolant_tier_reserved_slots',
    'gauge',
    'Slots reserved for the tier: ceil(reserved x C).',
    c.tiers.map((t) => ({ labels: { tier: t.tier }, value: t.reservedSlots })),
  );
  m.family(
    'coolant_tier_inflight',
    'gauge',
    'Generation leases of the tier in flight (unreleased, unexpired).',
    c.tiers.map((t) => ({ labels: { tier: t.tier }, value: t.inflight })),
  );
  m.family(
    'coolant_lease_expired_total',
    'counter',
    'Generation leases of the tier that expired unreleased (a gateway that leaks leases shows here).',
    c.tiers.map((t) => ({ labels: { tier: t.tier }, value: t.leasesExpired })),
  );
}
