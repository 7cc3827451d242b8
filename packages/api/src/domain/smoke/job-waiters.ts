/**
 * Agents' smoke-job long polls, waiting together: one shared tick (only while someone waits)
 * reads the queued jobs once for every waiting node, instead of one query per poll per tick, and
 * a smoke.run on this instance wakes its node's waiter at once. A thousand waiting agents cost one
 * query a tick.
 */

/** A job as an agent receives it. */
export type TSmokeJob = { id: string; prompt: string; seed: number; width: number; height: number; timeoutMs: number };

/** A queued job as the shared tick reads it: enough to claim it and hand it out. */
export type TQueuedJob = { id: string; nodeId: string };

type TWaiter = {
  nodeId: string;
  /** A claim for this waiter is in flight: the tick and wake skip it, its end waits for the claim. */
  busy: boolean;
  /** Why it ended while a claim was in flight: the claim's result decides what happens then. */
  ended: 'timeout' | 'abort' | null;
  finish(job: TSmokeJob | null): void;
};

/**
 * The nodes' waiting long polls. Each one used to look for a queued job every
 * 250 ms on its own, so 1,000 waiting agents cost ~4,000 queries/s and
 * saturated the console. Now waiting polls sit in a map by node and one shared
 * tick, running only while someone waits, reads the queued jobs of every node
 * in one query; a job is then claimed (atomically, by its conditional update)
 * for the oldest waiter of its node. A smoke.run on this instance wakes its
 * node's waiter at once; one made by another instance is found by the tick.
 */
export class SmokeJobWaiters<J extends TQueuedJob = TQueuedJob> {
  private readonly byNode = new Map<string, TWaiter[]>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Ticks that ran a query: tests check the queries per tick against this. */
  ticks = 0;

  constructor(
    private readonly opts: {
      tickMs: number;
      /** Queued jobs that have a node, oldest first. */
      findQueued: () => Promise<J[]>;
      /** Claims this job if it is still queued; null when someone else won it. */
      claimJob: (job: J) => Promise<TSmokeJob | null>;
      /** Claims the oldest queued job of the node; null when there is none. */
      claimOldest: (nodeId: string) => Promise<TSmokeJob | null>;
      /** Puts back a job claimed for a poll whose caller went away meanwhile. */
      unclaim: (jobId: string) => Promise<void>;
      log?: ((m: string) => void) | undefined;
    },
  ) {}

  /** Waiting polls on this instance (tests: an aborted poll must leave none behind). */
  get size(): number {
    let n = 0;
    for (const list of this.byNode.values()) n += list.length;
    return n;
  }

  /** Resolves with a job claimed for this node, or null at the deadline or when the signal aborts. */
  wait(req: { nodeId: string; deadline: number; signal?: AbortSignal | undefined }): Promise<TSmokeJob | null> {
    const { nodeId, deadline, signal } = req;
    if (this.stopped || signal?.aborted || deadline <= Date.now()) return Promise.resolve(null);
    return new Promise((resolve) => {
      let settled = false;
      const end = (why: 'timeout' | 'abort') => {
        if (w.busy) w.ended ??= why;
        else w.finish(null);
      };
      const onAbort = () => end('abort');
      const timer = setTimeout(() => end('timeout'), deadline - Date.now());
      const w: TWaiter = {
        nodeId,
        busy: false,
        ended: null,
        finish: (job) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.remove(w);
          resolve(job);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const list = this.byNode.get(nodeId);
      if (list) list.push(w);
      else this.byNode.set(nodeId, [w]);
      this.schedule();
    });
  }

  /** A job was queued for this node here: its waiter claims it now rather than at the next tick. */
  wake(nodeId: string): void {
    const w = this.byNode.get(nodeId)?.find((x) => !x.busy);
    if (w) void this.serve(w, () => this.opts.claimOldest(nodeId));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const list of [...this.byNode.values()]) for (const w of [...list]) if (!w.busy) w.finish(null);
  }

  private remove(w: TWaiter): void {
    const list = this.byNode.get(w.nodeId);
    if (!list) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byNode.delete(w.nodeId);
  }

  private schedule(): void {
    if (this.timer || this.stopped || this.byNode.size === 0) return;
    this.timer = setTimeout(() => void this.tick(), this.opts.tickMs);
  }

  private async tick(): Promise<void> {
    try {
      if (![...this.byNode.values()].some((list) => list.some((w) => !w.busy))) return;
      this.ticks++;
      const jobs = await this.opts.findQueued();
      // Oldest job first to the oldest free waiter of its node; one claim per waiter per tick.
      const taken = new Set<TWaiter>();
      for (const job of jobs) {
        const w = this.byNode.get(job.nodeId)?.find((x) => !x.busy && !taken.has(x));
        if (!w) continue;
        taken.add(w);
        void this.serve(w, () => this.opts.claimJob(job));
      }
    } catch (e) {
      this.opts.log?.(`smoke job tick failed: ${(e as Error).message}`);
    } finally {
      this.timer = null;
      this.schedule();
    }
  }

  private async serve(w: TWaiter, claim: () => Promise<TSmokeJob | null>): Promise<void> {
    w.busy = true;
    let job: TSmokeJob | null = null;
    try {
      job = await claim();
    } catch (e) {
      this.opts.log?.(`smoke job claim failed: ${(e as Error).message}`);
    }
    w.busy = false;
    if (job && w.ended === 'abort') {
      // Nobody would receive it: back to queued for the node's next poll instead of running until its timeout.
      await this.opts.unclaim(job.id).catch((e: Error) => this.opts.log?.(`smoke job unclaim failed: ${e.message}`));
      job = null;
    }
    if (job || w.ended || this.stopped) w.finish(job);
  }
}
