import type { TDb } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { shapeAlert } from './alerts';
import { gpuPresence } from './gpu-presence';
import { healthFailing } from './ingest-report';
import { nodeStatus } from './node-status';

type THost = {
  cpuLoadPercent: number | null;
  memUsedBytes: number | null;
  memTotalBytes: number | null;
  os: { distro: string | null; release: string | null; kernel: string | null } | null;
};
type THealth = {
  durationMs: number;
  errors: string[];
  gpuCount: number;
  nvidiaSmi: { status: string; message: string | null };
  hostMetrics: { status: string };
  inventory: { status: string; nvidiaControllers: number | null };
  inventoryMismatch: boolean;
  inventoryMismatchReason: string | null;
  timeouts: { part: string; afterMs: number }[];
  /** Samples the agent quarantined because this console refused them one by one (agents since the field exist). */
  spoolQuarantined?: number;
  spoolQuarantineReason?: string | null;
};

function parse<T>(s: string | null): T | null {
  if (!s) return null;
  try {
    return JSON.parse(s) as T;
  } catch {
    return null;
  }
}

/**
 * The fleet at a glance: every node with its GPUs in a compact form (the page
 * shows thousands of them), active alerts first.
 */
export async function listFleet(req: { db: TDb; now: Date; offlineAfterMs: number; includeRevoked: boolean }) {
  const { db, now } = req;
  const [nodes, alerts, smokes] = await Promise.all([
    // GPUs in their own query, not a nested include: with thousands of nodes Prisma's SQLite
    // adapter would put every node id in one statement and pass SQLite's parameter limit.
    db.node
      .findMany({ where: req.includeRevoked ? {} : { revokedAt: null }, orderBy: { hostname: 'asc' } })
      .then(async (rows) => {
        const gpus = await db.gpuState.findMany({ orderBy: [{ nodeId: 'asc' }, { gpuIndex: 'asc' }] });
        const byNode = new Map<string, typeof gpus>();
        for (const g of gpus) {
          const list = byNode.get(g.nodeId) ?? [];
          list.push(g);
          byNode.set(g.nodeId, list);
        }
        return rows.map((n) => ({ ...n, gpus: byNode.get(n.id) ?? [] }));
      }),
    db.alert.findMany({ where: { openKey: { not: null } }, orderBy: [{ state: 'asc' }, { startedAt: 'asc' }] }),
    // The last finished smoke test per node (one row each; the table is small next to telemetry).
    db.smokeRun.findMany({
      where: { nodeId: { not: null }, state: { in: ['passed', 'failed'] } },
      orderBy: { finishedAt: 'desc' },
      distinct: ['nodeId'],
      select: { nodeId: true, state: true, finishedAt: true, reason: true },
    }),
  ]);
  const lastSmoke = new Map(
    smokes.map((s) => [s.nodeId!, { state: s.state, at: s.finishedAt?.toISOString() ?? null, reason: s.reason }]),
  );
  const alertsByNode = new Map<string, number>();
  for (const a of alerts) if (a.state === 'firing') alertsByNode.set(a.nodeId, (alertsByNode.get(a.nodeId) ?? 0) + 1);
  const shaped = nodes.map((n) => {
    const host = parse<THost>(n.host);
    const health = parse<THealth>(n.health);
    return {
      id: n.id,
      hostname: n.hostname,
      status: nodeStatus({ node: n, now, offlineAfterMs: req.offlineAfterMs }),
      enrolledAt: n.enrolledAt.toISOString(),
      lastSeenAt: n.lastSeenAt?.toISOString() ?? null,
      revokedAt: n.revokedAt?.toISOString() ?? null,
      agentVersion: n.agentVersion,
      os: host?.os ? [host.os.distro, host.os.release].filter(Boolean).join(' ') || n.os : n.os,
      intervalSeconds: n.intervalSeconds,
      lastSeq: Number(n.lastSeq),
      gpuCount: n.gpuCount,
      cpuLoadPercent: host?.cpuLoadPercent ?? null,
      memUsedBytes: host?.memUsedBytes ?? null,
      memTotalBytes: host?.memTotalBytes ?? null,
      collector: health
        ? {
            ok: !healthFailing({ health } as never),
            errors: health.errors,
            durationMs: health.durationMs,
            nvidiaSmi: health.nvidiaSmi.status,
            inventoryMismatch: health.inventoryMismatch,
          }
        : null,
      spoolDropped: Number(n.spoolDropped),
      firingAlerts: alertsByNode.get(n.id) ?? 0,
      lastSmoke: lastSmoke.get(n.id) ?? null,
      gpus: n.gpus.map((g) => ({
        index: g.gpuIndex,
        name: g.name,
        util: g.utilizationGpu,
        temp: g.temperatureGpu,
        memUsed: g.memoryUsedMiB,
        memTotal: g.memoryTotalMiB,
        power: g.powerDrawW,
        missing: gpuPresence({ lastSampleAt: n.lastSampleAt, gpuCount: n.gpuCount, health }, g) === 'missing',
      })),
    };
  });
  const count = (s: string) => shaped.filter((n) => n.status === s).length;
  return {
    generatedAt: now.toISOString(),
    summary: {
      nodes: shaped.length,
      online: count('online'),
      stale: count('stale'),
      offline: count('offline'),
      gpus: shaped.reduce((t, n) => t + n.gpus.length, 0),
      firingAlerts: alerts.filter((a) => a.state === 'firing').length,
    },
    alerts: alerts.map(shapeAlert).sort((a, b) => (a.state === b.state ? 0 : a.state === 'firing' ? -1 : 1)),
    nodes: shaped,
  };
}

/** One node: GPU table, charts for the last hour (raw samples) and day (5-minute buckets of the rollups), health, alerts. */
export async function getFleetNode(req: { db: TDb; id: string; now: Date; offlineAfterMs: number }) {
  const { db, now } = req;
  const n = await db.node.findUnique({ where: { id: req.id }, include: { gpus: { orderBy: { gpuIndex: 'asc' } } } });
  if (!n) throw new AppError('NOT_FOUND', `No node with id ${req.id}`);
  const hourAgo = now.getTime() - 3_600_000;
  const dayAgoMin = Math.floor((now.getTime() - 86_400_000) / 60_000);
  const [raw, minutes, alerts, smoke] = await Promise.all([
    db.gpuSample.findMany({ where: { nodeId: n.id, atMs: { gte: BigInt(hourAgo) } }, orderBy: { atMs: 'asc' } }),
    db.gpuMinute.findMany({ where: { nodeId: n.id, minute: { gte: dayAgoMin } }, orderBy: { minute: 'asc' } }),
    db.alert.findMany({ where: { nodeId: n.id }, orderBy: { startedAt: 'desc' }, take: 50 }),
    db.smokeRun.findFirst({
      where: { nodeId: n.id, state: { in: ['passed', 'failed'] } },
      orderBy: { finishedAt: 'desc' },
      select: { id: true, state: true, finishedAt: true, reason: true, totalMs: true, prompt: true },
    }),
  ]);
  const hour = new Map<number, [number, number | null, number | null, number | null, number | null][]>();
  for (const s of raw) {
    const series = hour.get(s.gpuIndex) ?? [];
    series.push([Number(s.atMs), s.utilizationGpu, s.temperatureGpu, s.powerDrawW, s.memoryUsedMiB]);
    hour.set(s.gpuIndex, series);
  }
  const day = new Map<
    number,
    Map<
      number,
      {
        utilSum: number;
        utilCount: number;
        tempMax: number | null;
        powerSum: number;
        powerCount: number;
        memMax: number | null;
      }
    >
  >();
  for (const m of minutes) {
    const bucket = Math.floor(Number(m.minute) / 5) * 5;
    const series = day.get(m.gpuIndex) ?? new Map();
    const b = series.get(bucket) ?? {
      utilSum: 0,
      utilCount: 0,
      tempMax: null,
      powerSum: 0,
      powerCount: 0,
      memMax: null,
    };
    b.utilSum += m.utilSum;
    b.utilCount += m.utilCount;
    b.powerSum += m.powerSum;
    b.powerCount += m.powerCount;
    if (m.tempMax !== null) b.tempMax = b.tempMax === null ? m.tempMax : Math.max(b.tempMax, m.tempMax);
    if (m.memMax !== null) b.memMax = b.memMax === null ? m.memMax : Math.max(b.memMax, m.memMax);
    series.set(bucket, b);
    day.set(m.gpuIndex, series);
  }
  const host = parse<THost & { gpuInventory: unknown }>(n.host);
  const health = parse<THealth>(n.health);
  return {
    id: n.id,
    hostname: n.hostname,
    status: nodeStatus({ node: n, now, offlineAfterMs: req.offlineAfterMs }),
    agentVersion: n.agentVersion,
    enrolledAt: n.enrolledAt.toISOString(),
    lastSeenAt: n.lastSeenAt?.toISOString() ?? null,
    lastSampleAt: n.lastSampleAt?.toISOString() ?? null,
    intervalSeconds: n.intervalSeconds,
    lastSeq: Number(n.lastSeq),
    spoolDropped: Number(n.spoolDropped),
    revokedAt: n.revokedAt?.toISOString() ?? null,
    host,
    health,
    collectorFailures: n.collectorFailures,
    gpus: n.gpus.map((g) => ({
      index: g.gpuIndex,
      uuid: g.uuid,
      name: g.name,
      pciBusId: g.pciBusId,
      driverVersion: g.driverVersion,
      utilizationGpu: g.utilizationGpu,
      utilizationMemory: g.utilizationMemory,
      temperatureGpu: g.temperatureGpu,
      temperatureMemory: g.temperatureMemory,
      memoryUsedMiB: g.memoryUsedMiB,
      memoryTotalMiB: g.memoryTotalMiB,
      powerDrawW: g.powerDrawW,
      powerLimitW: g.powerLimitW,
      clockGraphicsMHz: g.clockGraphicsMHz,
      clockMemoryMHz: g.clockMemoryMHz,
      fanPercent: g.fanPercent,
      pstate: g.pstate,
      throttleReasons: parse<{ raw: string; names: string[] }>(g.throttleReasons),
      eccCorrected: g.eccCorrected === null ? null : Number(g.eccCorrected),
      eccUncorrected: g.eccUncorrected === null ? null : Number(g.eccUncorrected),
      migEnabled: g.migEnabled,
      sampledAt: g.sampledAt.toISOString(),
      missing: gpuPresence({ lastSampleAt: n.lastSampleAt, gpuCount: n.gpuCount, health }, g) === 'missing',
    })),
    charts: {
      /** [t ms, util %, temp °C, power W, memory used MiB] per raw sample. */
      hour: [...hour.entries()].map(([gpuIndex, points]) => ({ gpuIndex, points })),
      /** 5-minute buckets: [t ms, avg util, max temp, avg power, max memory]. */
      day: [...day.entries()].map(([gpuIndex, buckets]) => ({
        gpuIndex,
        points: [...buckets.entries()].map(([minute, b]) => [
          minute * 60_000,
          b.utilCount ? b.utilSum / b.utilCount : null,
          b.tempMax,
          b.powerCount ? b.powerSum / b.powerCount : null,
          b.memMax,
        ]),
      })),
    },
    alerts: alerts.map(shapeAlert),
    lastSmoke: smoke
      ? {
          id: smoke.id,
          state: smoke.state,
          at: smoke.finishedAt?.toISOString() ?? null,
          reason: smoke.reason,
          totalMs: smoke.totalMs,
          prompt: smoke.prompt,
        }
      : null,
  };
}
