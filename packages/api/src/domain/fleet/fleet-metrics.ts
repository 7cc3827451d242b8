/** The fleet's families of /metrics, from the database and this instance's ingest counters. */
import type { Prisma, TDb } from '@coolant/db';
import type { MetricsWriter, TSample } from '../../lib/prometheus';
import type { FleetService } from './fleet-service';
import { gpuPresence, parseHealth } from './gpu-presence';
import { nodeStatus } from './node-status';

type GpuState = Prisma.$GpuStatePayload['scalars'];
/** GpuState's readings (each a number, or null when unknown). */
type TGaugeField = {
  [K in keyof GpuState]: GpuState[K] extends number | null ? (number extends GpuState[K] ? K : never) : never;
}[keyof GpuState];

const GPU_GAUGES: [string, TGaugeField, string][] = [
  ['coolant_gpu_utilization_percent', 'utilizationGpu', 'GPU utilization (%).'],
  ['coolant_gpu_memory_utilization_percent', 'utilizationMemory', 'GPU memory controller utilization (%).'],
  ['coolant_gpu_temperature_celsius', 'temperatureGpu', 'GPU core temperature (°C).'],
  ['coolant_gpu_memory_temperature_celsius', 'temperatureMemory', 'GPU memory (HBM) temperature (°C).'],
  ['coolant_gpu_memory_used_mebibytes', 'memoryUsedMiB', 'GPU memory used (MiB).'],
  ['coolant_gpu_memory_total_mebibytes', 'memoryTotalMiB', 'GPU memory total (MiB).'],
  ['coolant_gpu_power_draw_watts', 'powerDrawW', 'GPU power draw (W).'],
  ['coolant_gpu_power_limit_watts', 'powerLimitW', 'GPU power limit (W).'],
  ['coolant_gpu_clock_graphics_megahertz', 'clockGraphicsMHz', 'GPU graphics clock (MHz).'],
  ['coolant_gpu_clock_memory_megahertz', 'clockMemoryMHz', 'GPU memory clock (MHz).'],
];

/**
 * Fleet families of /metrics: per-GPU gauges labelled by node, GPU index,
 * model and PCI bus (unknown readings are left out rather than written as 0),
 * GPU presence, node up/stale and collector failures, firing alerts, ingest counters.
 */
export type TWriteFleetMetricsRequest = {
  db: TDb;
  now: Date;
  offlineAfterMs: number;
  /** This instance's ingest counters. */
  fleet: Pick<FleetService, 'counters' | 'batcher'>;
  metrics: MetricsWriter;
};

export async function writeFleetMetrics(req: TWriteFleetMetricsRequest): Promise<void> {
  const { db, now, metrics: m } = req;
  const nodes = await db.node.findMany({ where: { revokedAt: null }, include: { gpus: true } });
  const gauges = new Map<string, TSample[]>(GPU_GAUGES.map(([name]) => [name, []]));
  const present: TSample[] = [];
  for (const n of nodes) {
    const health = parseHealth(n.health);
    for (const g of n.gpus) {
      const labels = {
        node: n.hostname,
        node_id: n.id,
        gpu: g.gpuIndex,
        model: g.name ?? '',
        pci_bus: g.pciBusId ?? '',
      };
      // The gpu_missing alert's own judgement, so Prometheus rules can mirror it (a missing GPU's gauges vanish).
      const presence = gpuPresence({ node: { lastSampleAt: n.lastSampleAt, gpuCount: n.gpuCount, health }, gpu: g });
      if (presence !== 'unknown') present.push({ labels, value: presence === 'present' ? 1 : 0 });
      if (n.lastSampleAt && g.sampledAt < n.lastSampleAt) continue;
      for (const [name, field] of GPU_GAUGES) {
        const v = g[field];
        if (typeof v === 'number') gauges.get(name)!.push({ labels, value: v });
      }
    }
  }
  for (const [name, , help] of GPU_GAUGES) m.family(name, 'gauge', help, gauges.get(name)!);
  m.family(
    'coolant_gpu_present',
    'gauge',
    "1 when the GPU was in the node's last report, 0 when that report lists it missing; absent while unknown.",
    present,
  );
  const statuses = nodes.map((n) => ({
    n,
    status: nodeStatus({ node: n, now, offlineAfterMs: req.offlineAfterMs }),
  }));
  m.family(
    'coolant_node_up',
    'gauge',
    '1 when the node reported recently (online), else 0.',
    statuses.map(({ n, status }) => ({
      labels: { node: n.hostname, node_id: n.id },
      value: status === 'online' ? 1 : 0,
    })),
  );
  m.family(
    'coolant_node_stale',
    'gauge',
    '1 when the node missed three report intervals but is not yet offline.',
    statuses.map(({ n, status }) => ({
      labels: { node: n.hostname, node_id: n.id },
      value: status === 'stale' ? 1 : 0,
    })),
  );
  m.family(
    'coolant_node_gpus',
    'gauge',
    "GPUs in the node's last report.",
    nodes.map((n) => ({ labels: { node: n.hostname, node_id: n.id }, value: n.gpuCount })),
  );
  m.family(
    'coolant_node_collector_failures',
    'gauge',
    "The node's consecutive reports whose collection failed (0 once one succeeds).",
    nodes.map((n) => ({ labels: { node: n.hostname, node_id: n.id }, value: n.collectorFailures })),
  );
  const firing = await db.alert.groupBy({ by: ['kind'], where: { state: 'firing' }, _count: { _all: true } });
  const kinds = ['gpu_hot', 'node_offline', 'gpu_missing', 'collector_failing'];
  m.family(
    'coolant_alerts_firing',
    'gauge',
    'Firing alerts by kind.',
    kinds.map((kind) => ({ labels: { kind }, value: firing.find((f) => f.kind === kind)?._count._all ?? 0 })),
  );
  const c = req.fleet.counters;
  m.family('coolant_ingest_reports_total', 'counter', 'Agent reports received by this instance.', [
    { value: c.reports },
  ]);
  m.family('coolant_ingest_samples_total', 'counter', 'Telemetry samples stored by this instance.', [
    { value: c.samples },
  ]);
  m.family('coolant_ingest_gpu_samples_total', 'counter', 'GPU samples stored by this instance.', [
    { value: c.gpuSamples },
  ]);
  m.family('coolant_ingest_duplicate_samples_total', 'counter', 'Samples received again (retries) and ignored.', [
    { value: c.duplicates },
  ]);
  const b = req.fleet.batcher.stats;
  m.family(
    'coolant_ingest_transactions_total',
    'counter',
    'Transactions that stored agent reports (group commit: several reports per transaction under load).',
    [{ value: b.batches }],
  );
  m.family('coolant_ingest_batch_fallbacks_total', 'counter', 'Batches that failed and were stored report by report.', [
    { value: b.fallbacks },
  ]);
}
