/** One node's page: its GPU table, charts of the last hour and day, health, alerts and last smoke test. */
import type { Prisma, TDb } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { shapeAlert } from './alert-shape';
import { gpuPresence } from './gpu-presence';
import { nodeStatus } from './node-status';
import { readStoredHealth, readStoredHost, readStoredThrottleReasons } from './stored-telemetry';

const nodeSmokeSelect = {
  id: true,
  state: true,
  finishedAt: true,
  reason: true,
  totalMs: true,
  prompt: true,
} satisfies Prisma.SmokeRunSelect;

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
      select: nodeSmokeSelect,
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
  const host = readStoredHost({ json: n.host });
  const stored = readStoredHealth({ json: n.health });
  const health = stored.value;
  const throttle = n.gpus.map((g) => readStoredThrottleReasons({ json: g.throttleReasons }));
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
    host: host.value,
    health,
    /** Stored JSON this node's rows could not read (named column and field); empty when all read. */
    dataProblems: [host.problem, stored.problem, ...throttle.map((t) => t.problem)].filter(
      (p): p is string => p !== null,
    ),
    collectorFailures: n.collectorFailures,
    gpus: n.gpus.map((g, i) => ({
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
      throttleReasons: throttle[i]!.value,
      eccCorrected: g.eccCorrected === null ? null : Number(g.eccCorrected),
      eccUncorrected: g.eccUncorrected === null ? null : Number(g.eccUncorrected),
      migEnabled: g.migEnabled,
      sampledAt: g.sampledAt.toISOString(),
      missing:
        gpuPresence({ node: { lastSampleAt: n.lastSampleAt, gpuCount: n.gpuCount, health }, gpu: g }) === 'missing',
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
