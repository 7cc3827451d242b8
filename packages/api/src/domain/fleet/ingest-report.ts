import {
  sqliteDate,
  toPgPlaceholders,
  withBusyRetry,
  type TPgRaw,
  type TRawStatement,
  type TSqliteRaw,
  type TSqliteTx,
} from '@coolant/db';
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

export type TNodeRow = { lastSeq: number; collectorFailures: number; revoked: boolean };

/**
 * A collector that cannot do its job: nvidia-smi or a systeminformation part
 * failed or timed out. A host with no nvidia-smi at all is not failing (it has
 * no NVIDIA GPU to report), so `missing` does not count.
 */
export function healthFailing(s: Pick<TTelemetrySample, 'health'>): boolean {
  const h = s.health;
  return (
    h.nvidiaSmi.status === 'failed' ||
    h.nvidiaSmi.status === 'timeout' ||
    h.hostMetrics.status !== 'ok' ||
    h.inventory.status === 'failed' ||
    h.inventory.status === 'timeout'
  );
}

/** Which GPU slot a reading belongs to: nvidia-smi's index, else its position in the report. */
export function gpuIndexOf(g: TTelemetrySample['gpus'][number], position: number): number {
  return g.index ?? position;
}

const placeholders = new Map<string, string>();
/** `(?,?,…),(…)` for n rows of cols columns, built once per shape (it was a visible part of the profile). */
const rows = (n: number, cols: number) => {
  const key = `${n}x${cols}`;
  let text = placeholders.get(key);
  if (text === undefined) {
    text = Array.from({ length: n }, () => `(${new Array(cols).fill('?').join(',')})`).join(',');
    if (placeholders.size < 1024) placeholders.set(key, text);
  }
  return text;
};

const GPU_STATE_COLS = [
  'nodeId',
  'gpuIndex',
  'uuid',
  'name',
  'pciBusId',
  'driverVersion',
  'utilizationGpu',
  'utilizationMemory',
  'temperatureGpu',
  'temperatureMemory',
  'memoryUsedMiB',
  'memoryTotalMiB',
  'powerDrawW',
  'powerLimitW',
  'clockGraphicsMHz',
  'clockMemoryMHz',
  'fanPercent',
  'pstate',
  'throttleReasons',
  'eccCorrected',
  'eccUncorrected',
  'migEnabled',
  'sampledAt',
];
const maxOf = (col: string) =>
  `"${col}" = CASE WHEN excluded."${col}" IS NULL THEN "GpuMinute"."${col}" WHEN "GpuMinute"."${col}" IS NULL OR excluded."${col}" > "GpuMinute"."${col}" THEN excluded."${col}" ELSE "GpuMinute"."${col}" END`;
/** What a GpuMinute row already there becomes when more samples of its minute arrive (both dialects). */
export const GPU_MINUTE_MERGE = `"samples" = "GpuMinute"."samples" + excluded."samples", "utilSum" = "GpuMinute"."utilSum" + excluded."utilSum", "utilCount" = "GpuMinute"."utilCount" + excluded."utilCount", "powerSum" = "GpuMinute"."powerSum" + excluded."powerSum", "powerCount" = "GpuMinute"."powerCount" + excluded."powerCount", ${maxOf('utilMax')}, ${maxOf('tempMax')}, ${maxOf('memMax')}`;
/** What a GpuState row becomes on a newer reading: every column but the key. */
export const GPU_STATE_MERGE = GPU_STATE_COLS.slice(2)
  .map((c) => `"${c}" = excluded."${c}"`)
  .join(', ');
export const GPU_STATE_COLUMNS = GPU_STATE_COLS.map((c) => `"${c}"`).join(',');
const GPU_SAMPLE_SQL = (n: number) =>
  `INSERT INTO "GpuSample" ("nodeId","gpuIndex","atMs","utilizationGpu","temperatureGpu","memoryUsedMiB","powerDrawW") VALUES ${rows(n, 7)} ON CONFLICT DO NOTHING`;
const GPU_MINUTE_SQL = (
  n: number,
) => `INSERT INTO "GpuMinute" ("nodeId","gpuIndex","minute","samples","utilSum","utilCount","utilMax","tempMax","powerSum","powerCount","memMax") VALUES ${rows(n, 11)}
ON CONFLICT ("nodeId","gpuIndex","minute") DO UPDATE SET ${GPU_MINUTE_MERGE}`;
const GPU_STATE_SQL = (
  n: number,
) => `INSERT INTO "GpuState" (${GPU_STATE_COLUMNS}) VALUES ${rows(n, GPU_STATE_COLS.length)}
ON CONFLICT ("nodeId","gpuIndex") DO UPDATE SET ${GPU_STATE_MERGE}`;
const sqlCache = new Map<string, string>();
/** One SQL text per (kind, rows): the prepared-statement cache then finds it without rebuilding it. */
const cachedSql = (kind: 'sample' | 'minute' | 'state', n: number) => {
  const key = `${kind}${n}`;
  let text = sqlCache.get(key);
  if (text === undefined) {
    text = kind === 'sample' ? GPU_SAMPLE_SQL(n) : kind === 'minute' ? GPU_MINUTE_SQL(n) : GPU_STATE_SQL(n);
    if (sqlCache.size < 256) sqlCache.set(key, text);
  }
  return text;
};

/**
 * The statements that store the new samples of one report: raw GPU samples
 * (short retention), per-minute rollups, the latest state per GPU and the
 * node row. The node update is conditional on the lastSeq that was read, so
 * two deliveries of the same report cannot both be counted.
 */
function buildStatements(
  req: Omit<TIngestRequest, 'raw'>,
  node: TNodeRow,
  fresh: TTelemetrySample[],
  dialect: 'sqlite' | 'postgresql',
) {
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
      sql: cachedSql('sample', s.gpus.length),
      params: s.gpus.flatMap((g, i) => [
        req.nodeId,
        gpuIndexOf(g, i),
        atMs,
        g.utilizationGpu,
        g.temperatureGpu,
        g.memoryUsedMiB,
        g.powerDrawW,
      ]),
    });
    statements.push({
      sql: cachedSql('minute', s.gpus.length),
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
    statements.push({
      sql: cachedSql('state', latest.gpus.length),
      params: latest.gpus.flatMap((g, i) => gpuStateValues(req.nodeId, g, gpuIndexOf(g, i), sampledAt, bool)),
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

/** The conditional node update found another lastSeq: another delivery of this node's report won. */
/**
 * One GpuState row's values in GPU_STATE_COLUMNS order, for both databases' statements (the
 * per-report SQLite one and PostgreSQL's batched UNNEST); `flag` writes a boolean as the driver wants it.
 */
export function gpuStateValues(
  nodeId: string,
  g: TTelemetrySample['gpus'][number],
  gpuIndex: number,
  sampledAt: unknown,
  flag: (b: boolean | null) => unknown,
): unknown[] {
  return [
    nodeId,
    gpuIndex,
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
    flag(g.migEnabled),
    sampledAt,
  ];
}

export class DuplicateRace extends Error {}

export const REVOKED_MESSAGE = 'This node token has been revoked';
export const GONE_MESSAGE = 'this node no longer exists';

export function readNode(r: Record<string, unknown> | undefined): TNodeRow {
  if (!r) throw new AppError('NOT_FOUND', GONE_MESSAGE);
  return { lastSeq: Number(r.lastSeq), collectorFailures: Number(r.collectorFailures), revoked: r.revokedAt !== null };
}

/** The report's samples oldest first. */
export function sortedSamples(samples: TTelemetrySample[]): TTelemetrySample[] {
  return [...samples].sort((a, b) => a.seq - b.seq);
}

/** The samples not stored yet (above the node's lastSeq, each seq once); throws for a revoked node. */
export function freshSamples(sorted: TTelemetrySample[], node: TNodeRow): TTelemetrySample[] {
  if (node.revoked) throw new AppError('UNAUTHORIZED', REVOKED_MESSAGE);
  return sorted.filter((s, i) => s.seq > node.lastSeq && (i === 0 || s.seq !== sorted[i - 1]!.seq));
}

const TOUCH_SQL = 'UPDATE "Node" SET "lastSeenAt" = ? WHERE "id" = ?';
const READ_NODE_SQL = 'SELECT "lastSeq", "collectorFailures", "revokedAt" FROM "Node" WHERE "id" = ?';

/**
 * One report inside an open SQLite transaction (its own or a batch's): reads the node row, which
 * shows what reports earlier in the same transaction wrote, so several reports of one node in a
 * batch are counted as if they had come one after another.
 */
export function ingestInSqliteTx(tx: TSqliteTx, req: Omit<TIngestRequest, 'raw'>): TIngestResult {
  const sorted = sortedSamples(req.samples);
  const node = readNode(tx.all(READ_NODE_SQL, [req.nodeId])[0]);
  const fresh = freshSamples(sorted, node);
  if (fresh.length === 0) {
    tx.run(TOUCH_SQL, [sqliteDate(req.now), req.nodeId]);
    return { acceptedUpTo: node.lastSeq, accepted: 0, duplicates: sorted.length, gpuSamples: 0 };
  }
  const { statements, gpuSamples } = buildStatements(req, node, fresh, 'sqlite');
  let last = 0;
  for (const st of statements) last = tx.run(st.sql, st.params).changes;
  if (last !== 1) throw new DuplicateRace();
  return {
    acceptedUpTo: fresh[fresh.length - 1]!.seq,
    accepted: fresh.length,
    duplicates: sorted.length - fresh.length,
    gpuSamples,
  };
}

/**
 * Stores one report's samples exactly once, in its own transaction. Samples at or below the
 * node's highest stored seq are duplicates (retries) and are acknowledged without being stored
 * again. The batcher (ingest-batcher.ts) stores many reports per transaction and falls back to
 * this when its batch fails.
 */
export async function ingestReport(req: TIngestRequest): Promise<TIngestResult> {
  const sorted = sortedSamples(req.samples);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      if (req.raw.kind === 'sqlite') {
        const raw = req.raw;
        return await withBusyRetry(() => raw.transaction((tx) => ingestInSqliteTx(tx, req)));
      }
      return await req.raw.transaction(async (q) => {
        // The row lock serializes concurrent reports of one node.
        const node = readNode((await q(`${toPgPlaceholders(READ_NODE_SQL)} FOR UPDATE`, [req.nodeId]))[0]);
        const fresh = freshSamples(sorted, node);
        if (fresh.length === 0) {
          await q(toPgPlaceholders(TOUCH_SQL), [req.now, req.nodeId]);
          return { acceptedUpTo: node.lastSeq, accepted: 0, duplicates: sorted.length, gpuSamples: 0 };
        }
        const { statements, gpuSamples } = buildStatements(req, node, fresh, 'postgresql');
        for (const st of statements) await q(toPgPlaceholders(st.sql), st.params);
        return {
          acceptedUpTo: fresh[fresh.length - 1]!.seq,
          accepted: fresh.length,
          duplicates: sorted.length - fresh.length,
          gpuSamples,
        };
      });
    } catch (error) {
      if (error instanceof DuplicateRace) continue;
      throw asIngestError(error);
    }
  }
  throw new AppError('CONFLICT', 'the report raced with another delivery of itself; send it again');
}

/** A domain error as it is; anything else is the database failing, said without its internals. */
export function asIngestError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('UNAVAILABLE', 'database unavailable: the report was not stored; send it again', {
    cause: String((error as Error).message ?? error),
  });
}
