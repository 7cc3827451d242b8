/**
 * Smoke tests: the console queues a generation for a node, the node's agent takes it (long
 * poll), draws it with the reference generator and streams the rows back; the console compares
 * the checksum with its own generation of the same request. A node that draws anything else is
 * flagged. This object holds what lives as long as the console does (the reference drawings, the
 * waiting polls, the sweep's timer); each operation is a domain function in its own file, and
 * every method here takes one options object.
 */
import type { TDb } from '@coolant/db';
import { SmokeJobWaiters, type TSmokeJob } from './job-waiters';
import { runLocalSmoke } from './run-local-smoke';
import { claimSmokeJob, claimSmokeRow, findQueuedSmokeJobs, unclaimSmokeJob } from './smoke-claim';
import { getSmokeRun, listSmokeRuns, type TListSmokeRunsRequest } from './smoke-queries';
import { SmokeReferences } from './smoke-reference';
import { recordSmokeResult, type TJobResultRequest } from './smoke-results';
import { shapeRun, type TNodeJobRow } from './smoke-run-shape';
import { startSmokeRun, type TSmokeRunRequest } from './start-smoke-run';
import { sweepSmokeRuns } from './sweep-smoke-runs';

export type { TSmokeJob, TJobResultRequest, TSmokeRunRequest };
export type { TSmokeTarget } from './start-smoke-run';

const SWEEP_MS = 1_000;
/** How often the shared tick looks for jobs queued by another instance while polls wait. */
const TICK_MS = 250;

export class SmokeService {
  private readonly references = new SmokeReferences();
  private timer: NodeJS.Timeout | null = null;
  readonly waiters: SmokeJobWaiters<TNodeJobRow>;

  constructor(
    private readonly opts: {
      db: TDb;
      now: () => Date;
      /** The services' offline threshold: a run is not sent to, and is failed on, an offline node. */
      offlineAfterMs: number;
      log?: (m: string) => void;
      tickMs?: number;
    },
  ) {
    const { db, now } = opts;
    this.waiters = new SmokeJobWaiters({
      tickMs: opts.tickMs ?? TICK_MS,
      findQueued: () => findQueuedSmokeJobs({ db }),
      claimJob: (job) => claimSmokeRow({ db, now: now(), job }),
      claimOldest: (nodeId) => claimSmokeJob({ db, now: now(), where: { nodeId } }),
      unclaim: (id) => unclaimSmokeJob({ db, id }),
      log: opts.log,
    });
  }

  start(background: boolean): void {
    if (!background) return;
    this.timer = setInterval(
      () => void this.sweep().catch((e: Error) => this.opts.log?.(`smoke sweep failed: ${e.message}`)),
      SWEEP_MS,
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.waiters.stop();
  }

  /** Queues the runs, then hands each to its taker: the node's waiting poll, or the console itself. */
  async run(req: TSmokeRunRequest) {
    const { db, now } = this.opts;
    const { offlineAfterMs } = this.opts;
    const out = await startSmokeRun({ ...req, db, now: now(), offlineAfterMs, references: this.references });
    for (const r of out.runs) {
      if (r.nodeId) this.waiters.wake(r.nodeId);
      else void runLocalSmoke({ db, now, id: r.id });
    }
    return { batchId: out.batchId, expectedChecksum: out.expectedChecksum, runs: out.runs.map((r) => shapeRun(r)) };
  }

  /** Long poll: answers as soon as a job is queued for this node, or null after waitMs. */
  async nextJob(req: { nodeId: string; waitMs: number; signal?: AbortSignal | undefined }): Promise<TSmokeJob | null> {
    const { db, now } = this.opts;
    const deadline = Date.now() + req.waitMs;
    const job = await claimSmokeJob({ db, now: now(), where: { nodeId: req.nodeId } });
    if (job || Date.now() >= deadline || req.signal?.aborted) return job;
    return this.waiters.wait({ nodeId: req.nodeId, deadline, signal: req.signal });
  }

  jobResult(req: TJobResultRequest): Promise<{ ok: true; state: string }> {
    return recordSmokeResult({ ...req, db: this.opts.db, now: this.opts.now });
  }

  /** Fails runs past their timeout, and runs whose node went offline; the number failed. */
  sweep(): Promise<number> {
    return sweepSmokeRuns({ db: this.opts.db, now: this.opts.now(), offlineAfterMs: this.opts.offlineAfterMs });
  }

  get(req: { id: string }) {
    return getSmokeRun({ db: this.opts.db, id: req.id });
  }

  list(req: TListSmokeRunsRequest) {
    return listSmokeRuns({ ...req, db: this.opts.db });
  }
}
