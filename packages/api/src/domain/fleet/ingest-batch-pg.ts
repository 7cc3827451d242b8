/**
 * Many nodes' reports in one PostgreSQL transaction, in a fixed number of statements whatever
 * the batch holds: the node rows are locked in id order (two consoles batching overlapping nodes
 * wait for each other instead of deadlocking), every report is decided in memory against those
 * rows, then each table gets one multi-row statement over UNNEST arrays (one parameter per
 * column, so no placeholder limit). Per report, a node that is gone or revoked gets its own error
 * and writes nothing; the others are stored.
 */
import type { TPgQuery, TPgRaw } from '@coolant/db';
import type { TTelemetrySample } from '@coolant/telemetry/schema';
import { AppError } from '../../lib/app-error';
import {
  DuplicateRace,
  freshSamples,
  GONE_MESSAGE,
  GPU_MINUTE_MERGE,
  GPU_STATE_COLUMNS,
  GPU_STATE_MERGE,
  gpuIndexOf,
  gpuStateValues,
  healthFailing,
  readNode,
  sortedSamples,
  type TIngestRequest,
  type TIngestResult,
  type TNodeRow,
} from './ingest-report';

export type TBatchOutcome = TIngestResult | AppError;
type TReport = Omit<TIngestRequest, 'raw'>;

type TMinute = {
  nodeId: string;
  gpuIndex: number;
  minute: number;
  samples: number;
  utilSum: number;
  utilCount: number;
  utilMax: number | null;
  tempMax: number | null;
  powerSum: number;
  powerCount: number;
  memMax: number | null;
};
type TNodeUpdate = {
  prevSeq: number;
  seq: number;
  sampledAt: string;
  gpuCount: number;
  host: string;
  health: string;
  failures: number;
  dropped: number;
  interval: number;
  agent: string | null;
};
/** A node as the batch has it so far: the row read, then each of its reports applied in order. */
type TNodeState = { row: TNodeRow; readSeq: number; seenAt: string; update: TNodeUpdate | null };

const maxOrNull = (a: number | null, b: number | null) => (b === null ? a : a === null || b > a ? b : a);

const SAMPLE_SQL = `INSERT INTO "GpuSample" ("nodeId","gpuIndex","atMs","utilizationGpu","temperatureGpu","memoryUsedMiB","powerDrawW")
SELECT * FROM UNNEST($1::text[], $2::int[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::float8[]) ON CONFLICT DO NOTHING`;
const MINUTE_SQL = `INSERT INTO "GpuMinute" ("nodeId","gpuIndex","minute","samples","utilSum","utilCount","utilMax","tempMax","powerSum","powerCount","memMax")
SELECT * FROM UNNEST($1::text[], $2::int[], $3::bigint[], $4::int[], $5::float8[], $6::int[], $7::float8[], $8::float8[], $9::float8[], $10::int[], $11::float8[])
ON CONFLICT ("nodeId","gpuIndex","minute") DO UPDATE SET ${GPU_MINUTE_MERGE}`;
const STATE_TYPES = [
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
const STATE_SQL = `INSERT INTO "GpuState" (${GPU_STATE_COLUMNS})
SELECT * FROM UNNEST(${STATE_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
ON CONFLICT ("nodeId","gpuIndex") DO UPDATE SET ${GPU_STATE_MERGE}`;
// Conditional on the lastSeq read under the lock, as a single report's update is: RETURNING counts the rows it moved.
const NODE_SQL = `UPDATE "Node" AS n SET "lastSeq" = v.seq, "lastSeenAt" = v.seen, "lastSampleAt" = v.sampled, "gpuCount" = v.gpus, "host" = v.host, "health" = v.health,
  "collectorFailures" = v.failures, "spoolDropped" = v.dropped, "intervalSeconds" = v.ivl, "agentVersion" = COALESCE(v.agent, n."agentVersion")
FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::timestamp(3)[], $5::timestamp(3)[], $6::int[], $7::text[], $8::text[], $9::int[], $10::bigint[], $11::int[], $12::text[])
  AS v(id, prev, seq, seen, sampled, gpus, host, health, failures, dropped, ivl, agent)
WHERE n."id" = v.id AND n."lastSeq" = v.prev RETURNING n."id"`;
const TOUCH_SQL = `UPDATE "Node" AS n SET "lastSeenAt" = v.seen FROM UNNEST($1::text[], $2::timestamp(3)[]) AS v(id, seen) WHERE n."id" = v.id`;

/** Columns as arrays, one per parameter of an UNNEST statement. */
function columns(n: number): unknown[][] {
  return Array.from({ length: n }, () => []);
}

/**
 * Decides every report against the locked rows and stores the accepted samples. Throws (and the
 * transaction rolls back) only when the database fails or a node row moved under the lock, which
 * the caller answers by storing the reports one by one.
 */
export async function writePgBatch(raw: TPgRaw, reports: TReport[]): Promise<TBatchOutcome[]> {
  const ids = [...new Set(reports.map((r) => r.nodeId))].sort();
  return raw.transaction(async (q: TPgQuery) => {
    // LockRows runs above the sort: the rows are locked in id order.
    const locked = await q(
      'SELECT "id", "lastSeq", "collectorFailures", "revokedAt" FROM "Node" WHERE "id" = ANY($1::text[]) ORDER BY "id" FOR UPDATE',
      [ids],
    );
    const nodes = new Map<string, TNodeState>();
    for (const r of locked) {
      const row = readNode(r);
      nodes.set(r.id as string, { row, readSeq: row.lastSeq, seenAt: '', update: null });
    }
    const samples = columns(7);
    const minutes = new Map<string, TMinute>();
    const states = new Map<string, unknown[]>();
    const outcomes = reports.map((report): TBatchOutcome => {
      const node = nodes.get(report.nodeId);
      if (!node) return new AppError('NOT_FOUND', GONE_MESSAGE);
      const sorted = sortedSamples(report.samples);
      let fresh: TTelemetrySample[];
      try {
        fresh = freshSamples(sorted, node.row);
      } catch (error) {
        if (error instanceof AppError) return error;
        throw error;
      }
      node.seenAt = report.now.toISOString();
      if (fresh.length === 0)
        return { acceptedUpTo: node.row.lastSeq, accepted: 0, duplicates: sorted.length, gpuSamples: 0 };
      let gpuSamples = 0;
      let failures = node.row.collectorFailures;
      for (const s of fresh) {
        failures = healthFailing(s) ? failures + 1 : 0;
        const atMs = Date.parse(s.collectedAt);
        const minute = Math.floor(atMs / 60_000);
        gpuSamples += s.gpus.length;
        s.gpus.forEach((g, i) => {
          const gpuIndex = gpuIndexOf(g, i);
          const row = [
            report.nodeId,
            gpuIndex,
            atMs,
            g.utilizationGpu,
            g.temperatureGpu,
            g.memoryUsedMiB,
            g.powerDrawW,
          ];
          row.forEach((v, c) => samples[c]!.push(v));
          // One row per minute and GPU: an upsert may not touch a row twice in one statement.
          const key = `${report.nodeId}\u0000${gpuIndex}\u0000${minute}`;
          const m = minutes.get(key) ?? {
            nodeId: report.nodeId,
            gpuIndex,
            minute,
            samples: 0,
            utilSum: 0,
            utilCount: 0,
            utilMax: null,
            tempMax: null,
            powerSum: 0,
            powerCount: 0,
            memMax: null,
          };
          m.samples += 1;
          m.utilSum += g.utilizationGpu ?? 0;
          m.utilCount += g.utilizationGpu === null ? 0 : 1;
          m.utilMax = maxOrNull(m.utilMax, g.utilizationGpu);
          m.tempMax = maxOrNull(m.tempMax, g.temperatureGpu);
          m.powerSum += g.powerDrawW ?? 0;
          m.powerCount += g.powerDrawW === null ? 0 : 1;
          m.memMax = maxOrNull(m.memMax, g.memoryUsedMiB);
          minutes.set(key, m);
        });
      }
      const latest = fresh[fresh.length - 1]!;
      const sampledAt = new Date(latest.collectedAt).toISOString();
      latest.gpus.forEach((g, i) => {
        const gpuIndex = gpuIndexOf(g, i);
        // A later report of the same node in this batch replaces the reading, as its upsert would.
        states.set(
          `${report.nodeId}\u0000${gpuIndex}`,
          gpuStateValues(report.nodeId, g, gpuIndex, sampledAt, (b) => b),
        );
      });
      node.update = {
        prevSeq: node.readSeq,
        seq: latest.seq,
        sampledAt,
        gpuCount: latest.gpus.length,
        host: JSON.stringify(latest.host),
        health: JSON.stringify(latest.health),
        failures,
        dropped: latest.spoolDropped,
        interval: report.intervalSeconds,
        agent: report.agentVersion ?? node.update?.agent ?? null,
      };
      node.row = { ...node.row, lastSeq: latest.seq, collectorFailures: failures };
      return { acceptedUpTo: latest.seq, accepted: fresh.length, duplicates: sorted.length - fresh.length, gpuSamples };
    });

    if (samples[0]!.length > 0) await q(SAMPLE_SQL, samples);
    if (minutes.size > 0) {
      const cols = columns(11);
      for (const m of minutes.values())
        [
          m.nodeId,
          m.gpuIndex,
          m.minute,
          m.samples,
          m.utilSum,
          m.utilCount,
          m.utilMax,
          m.tempMax,
          m.powerSum,
          m.powerCount,
          m.memMax,
        ].forEach((v, c) => cols[c]!.push(v));
      await q(MINUTE_SQL, cols);
    }
    if (states.size > 0) {
      const cols = columns(STATE_TYPES.length);
      for (const row of states.values()) row.forEach((v, c) => cols[c]!.push(v));
      await q(STATE_SQL, cols);
    }
    const updates = columns(12);
    const touches = columns(2);
    for (const [id, n] of nodes) {
      if (!n.seenAt) continue;
      const u = n.update;
      if (!u) {
        touches[0]!.push(id);
        touches[1]!.push(n.seenAt);
        continue;
      }
      [
        id,
        u.prevSeq,
        u.seq,
        n.seenAt,
        u.sampledAt,
        u.gpuCount,
        u.host,
        u.health,
        u.failures,
        u.dropped,
        u.interval,
        u.agent,
      ].forEach((v, c) => updates[c]!.push(v));
    }
    if (updates[0]!.length > 0) {
      const moved = await q(NODE_SQL, updates);
      if (moved.length !== updates[0]!.length) throw new DuplicateRace();
    }
    if (touches[0]!.length > 0) await q(TOUCH_SQL, touches);
    return outcomes;
  });
}
