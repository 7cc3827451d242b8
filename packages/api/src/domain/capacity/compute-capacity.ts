/**
 * Fleet capacity C from the latest telemetry: the sum over usable GPUs of their slots, a hot GPU
 * counting hotWeight of them. Usable = its node online (reporting within three intervals), the GPU
 * present in the latest report (gpu-presence.ts, as the fleet views judge it) and the node's
 * collector healthy (fewer consecutive failing reports than the collector_failing alert rule's).
 * Hot = latest temperature at or above the gpu_hot alert rule's threshold (without its hold: C
 * must shrink when a GPU heats, not a minute later). No telemetry for longer than the guard's
 * stall threshold makes C unknown: each tier's failMode decides then.
 */
import type { TDb } from '@coolant/db';
import { readAlertRules } from '../fleet/alerts';
import { gpuPresence, parseHealth } from '../fleet/gpu-presence';
import { nodeStatus } from '../fleet/node-status';
import { DEFAULT_GUARD_CONFIG, ZGuardConfig } from '../guard/guard-config';
import type { TCapacitySettings } from './capacity-config';

export type TCapacityNode = {
  lastSeenAt: Date | null;
  revokedAt: Date | null;
  intervalSeconds: number;
  lastSampleAt: Date | null;
  gpuCount: number;
  health: string | null;
  collectorFailures: number;
  gpus: { name: string | null; temperatureGpu: number | null; sampledAt: Date }[];
};

export type TCapacityRules = {
  hotTemperatureC: number;
  /** A node's collector is unhealthy from this many consecutive failing reports on. */
  collectorFailingReports: number;
  stallSeconds: number;
};

export type TFleetCapacity = {
  /** ok, or unknown: no telemetry for longer than the stall threshold. */
  state: 'ok' | 'unknown';
  slots: number;
  usableGpus: number;
  hotGpus: number;
  gpusTotal: number;
  /** GPUs on online nodes left out: missing, presence unknown, or the collector failing. */
  gpusUnusable: number;
  nodesOnline: number;
  /** Nodes not reporting (stale or offline), revoked ones aside. */
  nodesOffline: number;
  telemetryAt: Date | null;
};

export function computeFleetCapacity(req: {
  nodes: readonly TCapacityNode[];
  settings: TCapacitySettings;
  rules: TCapacityRules;
  now: Date;
  /** The services' offline threshold (COOLANT_NODE_OFFLINE_AFTER_SECONDS), as the fleet views apply it. */
  offlineAfterMs: number;
}): TFleetCapacity {
  const { settings, rules, now } = req;
  let slots = 0;
  let usableGpus = 0;
  let hotGpus = 0;
  let gpusTotal = 0;
  let gpusUnusable = 0;
  let nodesOnline = 0;
  let nodesOffline = 0;
  let newest: number | null = null;
  for (const n of req.nodes) {
    if (n.revokedAt) continue;
    gpusTotal += n.gpus.length;
    if (n.lastSeenAt) newest = Math.max(newest ?? 0, n.lastSeenAt.getTime());
    if (nodeStatus({ node: n, now, offlineAfterMs: req.offlineAfterMs }) !== 'online') {
      nodesOffline++;
      continue;
    }
    nodesOnline++;
    const healthy = n.collectorFailures < rules.collectorFailingReports;
    const health = parseHealth(n.health);
    for (const g of n.gpus) {
      const present =
        gpuPresence({ node: { lastSampleAt: n.lastSampleAt, gpuCount: n.gpuCount, health }, gpu: g }) === 'present';
      if (!healthy || !present) {
        gpusUnusable++;
        continue;
      }
      usableGpus++;
      const perGpu = (g.name !== null ? settings.slotsPerModel[g.name] : undefined) ?? settings.slotsPerGpu;
      const hot = g.temperatureGpu !== null && g.temperatureGpu >= rules.hotTemperatureC;
      if (hot) hotGpus++;
      slots += hot ? perGpu * settings.hotWeight : perGpu;
    }
  }
  const stalled = newest === null || now.getTime() - newest > rules.stallSeconds * 1000;
  return {
    state: stalled ? 'unknown' : 'ok',
    // Sums of halves and whole numbers: rounded so two instances never differ by float noise.
    slots: Math.round(slots * 1000) / 1000,
    usableGpus,
    hotGpus,
    gpusTotal,
    gpusUnusable,
    nodesOnline,
    nodesOffline,
    telemetryAt: newest === null ? null : new Date(newest),
  };
}

/** The thresholds the fleet already applies: the alert rules (hot, collector) and the guard's stall. */
export async function readCapacityRules(req: { db: TDb }): Promise<TCapacityRules> {
  const { db } = req;
  const [alerts, guard] = await Promise.all([
    readAlertRules({ db }),
    db.guardState.findUnique({ where: { id: 1 }, select: { config: true } }),
  ]);
  const parsed = guard ? ZGuardConfig.safeParse(JSON.parse(guard.config)) : null;
  return {
    hotTemperatureC: alerts.gpuHot.temperatureC,
    collectorFailingReports: alerts.collectorFailing.consecutiveReports,
    stallSeconds: (parsed?.success ? parsed.data : DEFAULT_GUARD_CONFIG).stallSeconds,
  };
}

/** Reads the fleet (non-revoked nodes with their GPUs' latest state) and computes C. */
export async function measureFleetCapacity(req: {
  db: TDb;
  settings: TCapacitySettings;
  now: Date;
  offlineAfterMs: number;
}): Promise<TFleetCapacity> {
  const [rules, nodes] = await Promise.all([
    readCapacityRules({ db: req.db }),
    req.db.node.findMany({
      where: { revokedAt: null },
      select: {
        lastSeenAt: true,
        revokedAt: true,
        intervalSeconds: true,
        lastSampleAt: true,
        gpuCount: true,
        health: true,
        collectorFailures: true,
        gpus: { select: { name: true, temperatureGpu: true, sampledAt: true } },
      },
    }),
  ]);
  return computeFleetCapacity({
    nodes,
    settings: req.settings,
    rules,
    now: req.now,
    offlineAfterMs: req.offlineAfterMs,
  });
}
