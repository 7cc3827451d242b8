/**
 * Many nodes' reports in one PostgreSQL transaction, in a fixed number of statements whatever
 * the batch holds: the node rows are locked in id order (two consoles batching overlapping nodes
 * wait for each other instead of deadlocking), every report is decided in memory against those
 * rows, then each table gets one multi-row statement over UNNEST arrays (one parameter per
 * column, so no placeholder limit). Per report, a node that is gone or revoked gets its own error
 * and writes nothing; the others are stored.
 */
import type { TPgQuery, TPgRaw } from '@coolant/db';
import { columns, MINUTE_SQL, NODE_SQL, SAMPLE_SQL, STATE_SQL, STATE_TYPES, TOUCH_SQL } from './ingest-batch-pg-sql';
import { DuplicateRace, readNode } from './ingest-node';
import type { TIngestReport } from './ingest-report';
import { planPgBatch, type TBatchOutcome, type TNodeState } from './plan-pg-batch';

export type { TBatchOutcome };

/**
 * Decides every report against the locked rows and stores the accepted samples. Throws (and the
 * transaction rolls back) only when the database fails or a node row moved under the lock, which
 * the caller answers by storing the reports one by one.
 */
export async function writePgBatch(req: { raw: TPgRaw; reports: TIngestReport[] }): Promise<TBatchOutcome[]> {
  const { raw, reports } = req;
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
      nodes.set(String(r.id), { row, readSeq: row.lastSeq, seenAt: '', update: null });
    }
    const { outcomes, samples, minutes, states } = planPgBatch({ reports, nodes });
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
