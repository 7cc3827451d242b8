/** The fleet page's one query: every node with its GPUs in a compact form, active alerts first. */
import type { Prisma, TDb } from '@coolant/db';
import { shapeAlert } from './alert-shape';
import { gpuPresence } from './gpu-presence';
import { healthFailing } from './ingest-report';
import { nodeStatus } from './node-status';
import { readStoredHealth, readStoredHost } from './stored-telemetry';

/** The last finished smoke test per node, as the list shows it. */
const listSmokeSelect = {
  nodeId: true,
  state: true,
  finishedAt: true,
  reason: true,
} satisfies Prisma.SmokeRunSelect;

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
      select: listSmokeSelect,
    }),
  ]);
  const lastSmoke = new Map(
    smokes.map((s) => [s.nodeId!, { state: s.state, at: s.finishedAt?.toISOString() ?? null, reason: s.reason }]),
  );
  const alertsByNode = new Map<string, number>();
  for (const a of alerts) if (a.state === 'firing') alertsByNode.set(a.nodeId, (alertsByNode.get(a.nodeId) ?? 0) + 1);
  const shaped = nodes.map((n) => {
    const host = readStoredHost({ json: n.host });
    const stored = readStoredHealth({ json: n.health });
    const health = stored.value;
    return {
      id: n.id,
      hostname: n.hostname,
      status: nodeStatus({ node: n, now, offlineAfterMs: req.offlineAfterMs }),
      enrolledAt: n.enrolledAt.toISOString(),
      lastSeenAt: n.lastSeenAt?.toISOString() ?? null,
      revokedAt: n.revokedAt?.toISOString() ?? null,
      agentVersion: n.agentVersion,
      os: host.value?.os ? [host.value.os.distro, host.value.os.release].filter(Boolean).join(' ') || n.os : n.os,
      intervalSeconds: n.intervalSeconds,
      lastSeq: Number(n.lastSeq),
      gpuCount: n.gpuCount,
      cpuLoadPercent: host.value?.cpuLoadPercent ?? null,
      memUsedBytes: host.value?.memUsedBytes ?? null,
      memTotalBytes: host.value?.memTotalBytes ?? null,
      collector: health
        ? {
            ok: !healthFailing({ health }),
            errors: health.errors,
            durationMs: health.durationMs,
            nvidiaSmi: health.nvidiaSmi.status,
            inventoryMismatch: health.inventoryMismatch,
          }
        : null,
      /** Stored JSON this row could not read (named column and field); empty when all read. */
      dataProblems: [host.problem, stored.problem].filter((p): p is string => p !== null),
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
        missing:
          gpuPresence({ node: { lastSampleAt: n.lastSampleAt, gpuCount: n.gpuCount, health }, gpu: g }) === 'missing',
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
