/**
 * The sweep that keeps a run from waiting forever: a run past its timeout, or whose node went
 * offline or was revoked, fails with the reason, so the page shows why instead of "running".
 */
import type { TDb } from '@coolant/db';
import { nodeStatus } from '../fleet/node-status';
import { failSmokeRun } from './smoke-results';

/** The number of runs it failed. */
export async function sweepSmokeRuns(req: { db: TDb; now: Date; offlineAfterMs: number }): Promise<number> {
  const { db, now } = req;
  let failed = 0;
  const late = await db.smokeRun.findMany({
    where: { state: { in: ['queued', 'running'] }, timeoutAt: { lte: now } },
    select: { id: true, state: true, rowsDone: true, height: true },
  });
  for (const r of late) {
    const reason =
      r.state === 'queued'
        ? 'timed out: no agent picked the job up'
        : `timed out while running (${r.rowsDone}/${r.height} rows)`;
    await failSmokeRun({ db, now, id: r.id, reason });
    failed++;
  }
  const active = await db.smokeRun.findMany({
    where: { state: { in: ['queued', 'running'] }, nodeId: { not: null } },
    select: { id: true, nodeId: true },
  });
  if (active.length) {
    const ids = [...new Set(active.flatMap((a) => (a.nodeId === null ? [] : [a.nodeId])))];
    const nodes = await db.node.findMany({ where: { id: { in: ids } } });
    for (const a of active) {
      const n = nodes.find((x) => x.id === a.nodeId);
      if (!n || nodeStatus({ node: n, now, offlineAfterMs: req.offlineAfterMs }) === 'offline' || n.revokedAt) {
        await failSmokeRun({ db, now, id: a.id, reason: `node ${n?.hostname ?? a.nodeId} went offline` });
        failed++;
      }
    }
  }
  return failed;
}
