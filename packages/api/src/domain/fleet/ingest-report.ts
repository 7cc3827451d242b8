/**
 * One agent report stored exactly once in its own transaction, on either database: the path a
 * report takes alone, and the one the batcher falls back to when a batch fails. The SQLite
 * per-report step is shared with the batcher, which runs many of them in one transaction.
 */
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
import {
  asIngestError,
  DuplicateRace,
  freshSamples,
  gpuIndexOf,
  healthFailing,
  readNode,
  sortedSamples,
  type TNodeRow,
} from './ingest-node';
import { cachedSql, gpuStateValues } from './ingest-sql';

/** Where fleet-queries.ts has always read it from. */
export { healthFailing };

export type TIngestRequest = {
  raw: TSqliteRaw | TPgRaw;
  nodeId: string;
  intervalSeconds: number;
  agentVersion: string | null;
  samples: TTelemetrySample[];
  now: Date;
};

/** A report as the ingest paths take it, whichever database connection stores it. */
export type TIngestReport = Omit<TIngestRequest, 'raw'>;

export type TIngestResult = {
  /** Every sample up to this seq is stored: the agent may drop them from its spool. */
  acceptedUpTo: number;
  accepted: number;
  duplicates: number;
  gpuSamples: number;
};

/**
 * The statements that store the new samples of one report: raw GPU samples
 * (short retention), per-minute rollups, the latest state per GPU and the
 * node row. The node update is conditional on the lastSeq that was read, so
 * two deliveries of the same report cannot both be counted.
 */
function buildStatements(b: {
  req: TIngestReport;
  node: TNodeRow;
  fresh: TTelemetrySample[];
  dialect: 'sqlite' | 'postgresql';
}) {
  const { req, node, fresh, dialect } = b;
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
        gpuIndexOf({ gpu: g, position: i }),
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
        gpuIndexOf({ gpu: g, position: i }),
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
      params: latest.gpus.flatMap((g, i) =>
        gpuStateValues({
          nodeId: req.nodeId,
          gpu: g,
          gpuIndex: gpuIndexOf({ gpu: g, position: i }),
          sampledAt,
          flag: bool,
        }),
      ),
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

const TOUCH_SQL = 'UPDATE "Node" SET "lastSeenAt" = ? WHERE "id" = ?';
const READ_NODE_SQL = 'SELECT "lastSeq", "collectorFailures", "revokedAt" FROM "Node" WHERE "id" = ?';

/**
 * One report inside an open SQLite transaction (its own or a batch's): reads the node row, which
 * shows what reports earlier in the same transaction wrote, so several reports of one node in a
 * batch are counted as if they had come one after another.
 */
export function ingestInSqliteTx(req: TIngestReport & { tx: TSqliteTx }): TIngestResult {
  const { tx } = req;
  const sorted = sortedSamples(req.samples);
  const node = readNode(tx.all(READ_NODE_SQL, [req.nodeId])[0]);
  const fresh = freshSamples({ sorted, node });
  if (fresh.length === 0) {
    tx.run(TOUCH_SQL, [sqliteDate(req.now), req.nodeId]);
    return { acceptedUpTo: node.lastSeq, accepted: 0, duplicates: sorted.length, gpuSamples: 0 };
  }
  const { statements, gpuSamples } = buildStatements({ req, node, fresh, dialect: 'sqlite' });
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
        return await withBusyRetry(() => raw.transaction((tx) => ingestInSqliteTx({ ...req, tx })));
      }
      return await req.raw.transaction(async (q) => {
        // The row lock serializes concurrent reports of one node.
        const node = readNode((await q(`${toPgPlaceholders(READ_NODE_SQL)} FOR UPDATE`, [req.nodeId]))[0]);
        const fresh = freshSamples({ sorted, node });
        if (fresh.length === 0) {
          await q(toPgPlaceholders(TOUCH_SQL), [req.now, req.nodeId]);
          return { acceptedUpTo: node.lastSeq, accepted: 0, duplicates: sorted.length, gpuSamples: 0 };
        }
        const { statements, gpuSamples } = buildStatements({ req, node, fresh, dialect: 'postgresql' });
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
