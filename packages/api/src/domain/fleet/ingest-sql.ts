/**
 * The SQL text of ingest, shared by both databases: the GPU tables' columns and their merge rules
 * on conflict, the multi-row statements of one report (built once per shape and cached, because
 * building them showed in the profile) and one GpuState row's values in column order.
 */
import type { TTelemetrySample } from '@coolant/telemetry/schema';

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
export const cachedSql = (kind: 'sample' | 'minute' | 'state', n: number) => {
  const key = `${kind}${n}`;
  let text = sqlCache.get(key);
  if (text === undefined) {
    text = kind === 'sample' ? GPU_SAMPLE_SQL(n) : kind === 'minute' ? GPU_MINUTE_SQL(n) : GPU_STATE_SQL(n);
    if (sqlCache.size < 256) sqlCache.set(key, text);
  }
  return text;
};

/**
 * One GpuState row's values in GPU_STATE_COLUMNS order, for both databases' statements (the
 * per-report SQLite one and PostgreSQL's batched UNNEST); `flag` writes a boolean as the driver wants it.
 */
export function gpuStateValues(req: {
  nodeId: string;
  gpu: TTelemetrySample['gpus'][number];
  gpuIndex: number;
  sampledAt: unknown;
  flag: (b: boolean | null) => unknown;
}): unknown[] {
  const { gpu: g, flag } = req;
  return [
    req.nodeId,
    req.gpuIndex,
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
    req.sampledAt,
  ];
}
