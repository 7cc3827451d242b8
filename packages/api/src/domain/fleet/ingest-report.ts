import { sqliteDate, toPgPlaceholders, withBusyRetry, type TPgRaw, type TRawStatement, type TSqliteRaw } from '@coolant/db';
import type { TTelemetrySample } from '@coolant/telemetry/schema';
import { AppError } from '../../lib/app-error';

export type TIngestRequest = {
  raw: TSqliteRaw | TPgRaw;
  nodeId: string;
  intervalSeconds: number;
  agentVersion: string | null;
  samples: TTelemetrySample[];
  now: Date;
};

export type TIngestResult = {
  /** Every sample up to this seq is stored: the agent may drop them from its spool. */
  acceptedUpTo: number;
  accepted: number;
  duplicates: number;
  gpuSamples: number;
};

type TNodeRow = { lastSeq: number; collectorFailures: number; revoked: boolean };

/**
 * A collector that cannot do its job: nvidia-smi or a systeminformation part
 * failed or timed out. A host with no nvidia-smi at all is not failing (it has
 * no NVIDIA GPU to report), so `missing` does not count.
 */
export function healthFailing(s: Pick<TTelemetrySample, 'health'>): boolean {
  const h = s.health;
  return h.nvidiaSmi.status === 'failed' || h.nvidiaSmi.status === 'timeout' || h.hostMetrics.status !== 'ok' || h.inventory.status === 'failed' || h.inventory.status === 'timeout';
}

/** Which GPU slot a reading belongs to: nvidia-smi's index, else its position in the report. */
function gpuIndexOf(g: TTelemetrySample['gpus'][number], position: number): number {
  return g.index ?? position;
}

const rows = (n: number, cols: number) => Array.from({ length: n }, () => `(${new Array(cols).fill('?').join(',')})`).join(',');

/**
 * The statements that store the new samples of one report: raw GPU samples
 * (short retention), per-minute rollups, the latest state per GPU and the
 * node row. The node update is conditional on the lastSeq that was read, so
 * two deliveries of the same report cannot both be counted.
 */
function buildStatements(req: TIngestRequest, node: TNodeRow, fresh: TTelemetrySample[], dialect: 'sqlite' | 'postgresql') {
  const date = (d: Date) => (dialect === 'sqlite' ? sqliteDate(d) : d);
  const bool = (b: boolean | null) => (b === null ? null : dialect === 'sqlite' ? (b ? 1 : 0) : b);
  const statements: TRawStatement[] = [];
  let gpuSamples = 0;
  let failures = node.collectorFailures;
  for (const s of fresh) {
    failures = healthFailing(s) ? failures + 1 : 0;
    if (s.gpus.length === 0) continue;
    const atMs = Date.parse(s.collectedAt);
    const minute = Math.floor(atMs / 60_000);
    gpuSamples += s.gpus.length;
    statements.push({
      sql: `INSERT INTO "GpuSample" ("nodeId","gpuIndex","atMs","utilizationGpu","temperatureGpu","memoryUsedMiB","powerDrawW") VALUES ${rows(s.gpus.length, 7)} ON CONFLICT DO NOTHING`,
      params: s.gpus.flatMap((g, i) => [req.nodeId, gpuIndexOf(g, i), atMs, g.utilizationGpu, g.temperatureGpu, g.memoryUsedMiB, g.powerDrawW]),
    });
    const max = (col: string) =>
      `"${col}" = CASE WHEN excluded."${col}" IS NULL THEN "GpuMinute"."${col}" WHEN "GpuMinute"."${col}" IS NULL OR excluded."${col}" > "GpuMinute"."${col}" THEN excluded."${col}" ELSE "GpuMinute"."${col}" END`;
    statements.push({
      sql: `INSERT INTO "GpuMinute" ("nodeId","gpuIndex","minute","samples","utilSum","utilCount","utilMax","tempMax","powerSum","powerCount","memMax") VALUES ${rows(s.gpus.length, 11)}
ON CONFLICT ("nodeId","gpuIndex","minute") DO UPDATE SET "samples" = "GpuMinute"."samples" + excluded."samples", "utilSum" = "GpuMinute"."utilSum" + excluded."utilSum", "utilCount" = "GpuMinute"."utilCount" + excluded."utilCount", "powerSum" = "GpuMinute"."powerSum" + excluded."powerSum", "powerCount" = "GpuMinute"."powerCount" + excluded."powerCount", ${max('utilMax')}, ${max('tempMax')}, ${max('memMax')}`,
      params: s.gpus.flatMap((g, i) => [
        req.nodeId,
        gpuIndexOf(g, i),
        minute,
        1,
        g.utilizationGpu ?? 0,
        g.utilizationGpu === null ? 0 : 1,
        g.utilizationGpu,
        g.temperatureGpu,
        g.powerDrawW ?? 0,
        g.powerDrawW === null ? 0 : 1,
        g.memoryUsedMiB,
      ]),
    });
  }
  const latest = fresh[fresh.length - 1]!;
  const sampledAt = date(new Date(latest.collectedAt));
  if (latest.gpus.length > 0) {
    const cols = ['nodeId', 'gpuIndex', 'uuid', 'name', 'pciBusId', 'driverVersion', 'utilizationGpu', 'utilizationMemory', 'temperatureGpu', 'temperatureMemory', 'memoryUsedMiB', 'memoryTotalMiB', 'powerDrawW', 'powerLimitW', 'clockGraphicsMHz', 'clockMemoryMHz', 'fanPercent', 'pstate', 'throttleReasons', 'eccCorrected', 'eccUncorrected', 'migEnabled', 'sampledAt'];
    statements.push({
      sql: `INSERT INTO "GpuState" (${cols.map((c) => `"${c}"`).join(',')}) VALUES ${rows(latest.gpus.length, cols.length)}
ON CONFLICT ("nodeId","gpuIndex") DO UPDATE SET ${cols.slice(2).map((c) => `"${c}" = excluded."${c}"`).join(', ')}`,
      params: latest.gpus.flatMap((g, i) => [
        req.nodeId,
        gpuIndexOf(g, i),
        g.uuid,
        g.name,
        g.pciBusId,
        g.driverVersion,
        g.utilizationGpu,
        g.utilizationMemory,
        g.temperatureGpu,
        g.temperatureMemory,
        g.memoryUsedMiB,
        g.memoryTotalMiB,
        g.powerDrawW,
        g.powerLimitW,
        g.clockGraphicsMHz,
        g.clockMemoryMHz,
        g.fanPercent,
        g.pstate,
        g.throttleReasons ? JSON.stringify(g.throttleReasons) : null,
        g.eccCorrected,
        g.eccUncorrected,
        bool(g.migEnabled),
        sampledAt,
      ]),
    });
  }
  const now = date(req.now);
  statements.push({
    sql: `UPDATE "Node" SET "lastSeq" = ?, "lastSeenAt" = ?, "lastSampleAt" = ?, "gpuCount" = ?, "host" = ?, "health" = ?, "collectorFailures" = ?, "spoolDropped" = ?, "intervalSeconds" = ?, "agentVersion" = COALESCE(?, "agentVersion") WHERE "id" = ? AND "lastSeq" = ?`,
    params: [
      latest.seq,
      now,
      sampledAt,
      latest.gpus.length,
      JSON.stringify(latest.host),
      JSON.stringify(latest.health),
      failures,
      latest.spoolDropped,
      req.intervalSeconds,
      req.agentVersion,
      req.nodeId,
      node.lastSeq,
    ],
  });
  return { statements, gpuSamples };
}

class DuplicateRace extends Error {}

/**
 * Stores one report's samples exactly once. Samples at or below the node's
 * highest stored seq are duplicates (retries) and are acknowledged without
 * being stored again.
 */
export async function ingestReport(req: TIngestRequest): Promise<TIngestResult> {
  const sorted = [...req.samples].sort((a, b) => a.seq - b.seq);
  const readNode = (r: Record<string, unknown> | undefined): TNodeRow => {
    if (!r) throw new AppError('NOT_FOUND', 'this node no longer exists');
    return { lastSeq: Number(r.lastSeq), collectorFailures: Number(r.collectorFailures), revoked: r.revokedAt !== null };
  };
  const plan = (node: TNodeRow) => {
    if (node.revoked) throw new AppError('UNAUTHORIZED', 'This node token has been revoked');
    const fresh = sorted.filter((s, i) => s.seq > node.lastSeq && (i === 0 || s.seq !== sorted[i - 1]!.seq));
    return fresh;
  };
  const touchSql = 'UPDATE "Node" SET "lastSeenAt" = ? WHERE "id" = ?';
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      if (req.raw.kind === 'sqlite') {
        const raw = req.raw;
        return await withBusyRetry(() =>
          raw.transaction((tx) => {
            const node = readNode(tx.all('SELECT "lastSeq", "collectorFailures", "revokedAt" FROM "Node" WHERE "id" = ?', [req.nodeId])[0]);
            const fresh = plan(node);
            if (fresh.length === 0) {
              tx.run(touchSql, [sqliteDate(req.now), req.nodeId]);
              return { acceptedUpTo: node.lastSeq, accepted: 0, duplicates: sorted.length, gpuSamples: 0 };
            }
            const { statements, gpuSamples } = buildStatements(req, node, fresh, 'sqlite');
            let last = 0;
            for (const st of statements) last = tx.run(st.sql, st.params).changes;
            if (last !== 1) throw new DuplicateRace();
            return { acceptedUpTo: fresh[fresh.length - 1]!.seq, accepted: fresh.length, duplicates: sorted.length - fresh.length, gpuSamples };
          }),
        );
      }
      return await req.raw.transaction(async (q) => {
        // The row lock serializes concurrent reports of one node.
        const node = readNode((await q('SELECT "lastSeq", "collectorFailures", "revokedAt" FROM "Node" WHERE "id" = $1 FOR UPDATE', [req.nodeId]))[0]);
        const fresh = plan(node);
        if (fresh.length === 0) {
          await q(toPgPlaceholders(touchSql), [req.now, req.nodeId]);
          return { acceptedUpTo: node.lastSeq, accepted: 0, duplicates: sorted.length, gpuSamples: 0 };
        }
        const { statements, gpuSamples } = buildStatements(req, node, fresh, 'postgresql');
        for (const st of statements) await q(toPgPlaceholders(st.sql), st.params);
        return { acceptedUpTo: fresh[fresh.length - 1]!.seq, accepted: fresh.length, duplicates: sorted.length - fresh.length, gpuSamples };
      });
    } catch (error) {
      if (error instanceof DuplicateRace) continue;
      if (error instanceof AppError) throw error;
      throw new AppError('UNAVAILABLE', 'database unavailable: the report was not stored; send it again', { cause: String((error as Error).message ?? error) });
    }
  }
  throw new AppError('CONFLICT', 'the report raced with another delivery of itself; send it again');
}
