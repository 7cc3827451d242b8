/**
 * The statements of a PostgreSQL ingest batch: one multi-row statement per table over UNNEST
 * arrays (one parameter per column, so no placeholder limit however many reports a batch holds).
 */
import { GPU_MINUTE_MERGE, GPU_STATE_COLUMNS, GPU_STATE_MERGE } from './ingest-sql';

export const SAMPLE_SQL = `INSERT INTO "GpuSample" ("nodeId","gpuIndex","atMs","utilizationGpu","temperatureGpu","memoryUsedMiB","powerDrawW")
SELECT * FROM UNNEST($1::text[], $2::int[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::float8[]) ON CONFLICT DO NOTHING`;
export const MINUTE_SQL = `INSERT INTO "GpuMinute" ("nodeId","gpuIndex","minute","samples","utilSum","utilCount","utilMax","tempMax","powerSum","powerCount","memMax")
SELECT * FROM UNNEST($1::text[], $2::int[], $3::bigint[], $4::int[], $5::float8[], $6::int[], $7::float8[], $8::float8[], $9::float8[], $10::int[], $11::float8[])
ON CONFLICT ("nodeId","gpuIndex","minute") DO UPDATE SET ${GPU_MINUTE_MERGE}`;
export const STATE_TYPES = [
  'text',
  'int',
  'text',
  'text',
  'text',
  'text',
  ...Array<string>(11).fill('float8'),
  'text',
  'text',
  'bigint',
  'bigint',
  'boolean',
  'timestamp(3)',
];
export const STATE_SQL = `INSERT INTO "GpuState" (${GPU_STATE_COLUMNS})
SELECT * FROM UNNEST(${STATE_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
ON CONFLICT ("nodeId","gpuIndex") DO UPDATE SET ${GPU_STATE_MERGE}`;
// Conditional on the lastSeq read under the lock, as a single report's update is: RETURNING counts the rows it moved.
export const NODE_SQL = `UPDATE "Node" AS n SET "lastSeq" = v.seq, "lastSeenAt" = v.seen, "lastSampleAt" = v.sampled, "gpuCount" = v.gpus, "host" = v.host, "health" = v.health,
  "collectorFailures" = v.failures, "spoolDropped" = v.dropped, "intervalSeconds" = v.ivl, "agentVersion" = COALESCE(v.agent, n."agentVersion")
FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::timestamp(3)[], $5::timestamp(3)[], $6::int[], $7::text[], $8::text[], $9::int[], $10::bigint[], $11::int[], $12::text[])
  AS v(id, prev, seq, seen, sampled, gpus, host, health, failures, dropped, ivl, agent)
WHERE n."id" = v.id AND n."lastSeq" = v.prev RETURNING n."id"`;
export const TOUCH_SQL = `UPDATE "Node" AS n SET "lastSeenAt" = v.seen FROM UNNEST($1::text[], $2::timestamp(3)[]) AS v(id, seen) WHERE n."id" = v.id`;

/** Columns as arrays, one per parameter of an UNNEST statement. */
export function columns(n: number): unknown[][] {
  return Array.from({ length: n }, () => []);
}
