/**
 * Handing a queued job to exactly one taker: an agent's long poll or the console's own local run.
 * The conditional update is the claim, so of all polls on all instances exactly one wins a job.
 */
import type { TDb } from '@coolant/db';
import type { TSmokeJob } from './job-waiters';
import { jobSelect, type TJobRow, type TNodeJobRow } from './smoke-run-shape';

/** A tick reads at most this many queued jobs (oldest first); offline nodes' jobs are failed by the sweep. */
const TICK_TAKE = 2_000;

/** The queued jobs of every node, oldest first: one query for all waiting polls (they are few: claimed within a tick, or failed by the sweep). */
export async function findQueuedSmokeJobs(req: { db: TDb }): Promise<TNodeJobRow[]> {
  const rows = await req.db.smokeRun.findMany({
    where: { state: 'queued', nodeId: { not: null } },
    orderBy: { createdAt: 'asc' },
    take: TICK_TAKE,
    select: jobSelect,
  });
  return rows.flatMap((r) => (r.nodeId === null ? [] : [{ ...r, nodeId: r.nodeId }]));
}

/** Marks the job running if it is still queued; null when another taker won it. */
export async function claimSmokeRow(req: { db: TDb; now: Date; job: TJobRow }): Promise<TSmokeJob | null> {
  const { db, now, job } = req;
  const won = await db.smokeRun.updateMany({
    where: { id: job.id, state: 'queued' },
    data: { state: 'running', startedAt: now },
  });
  if (won.count !== 1) return null;
  return {
    id: job.id,
    prompt: job.prompt,
    seed: Number(job.seed),
    width: job.width,
    height: job.height,
    timeoutMs: Math.max(1_000, job.timeoutAt.getTime() - now.getTime()),
  };
}

/** Claims the oldest queued job of a node (or one job by id); null when there is none. */
export async function claimSmokeJob(req: {
  db: TDb;
  now: Date;
  where: { id: string } | { nodeId: string };
}): Promise<TSmokeJob | null> {
  const job = await req.db.smokeRun.findFirst({
    where: { ...req.where, state: 'queued' },
    orderBy: { createdAt: 'asc' },
    select: jobSelect,
  });
  return job ? claimSmokeRow({ db: req.db, now: req.now, job }) : null;
}

/** Puts back a job claimed for a poll whose caller went away meanwhile, if nothing of it arrived yet. */
export async function unclaimSmokeJob(req: { db: TDb; id: string }): Promise<void> {
  await req.db.smokeRun.updateMany({
    where: { id: req.id, state: 'running', rowsDone: 0 },
    data: { state: 'queued', startedAt: null },
  });
}
