/**
 * When each bounded table was last pruned from a request path (failed logins, anonymous audit
 * rows): at most once a minute, not on every request. One per services object, so two servers in
 * one process keep their own schedule; a caller that passes none prunes at once (tests, tools).
 */
export class PruneSchedule {
  private readonly last = new Map<string, number>();

  /** True, and noted, when `job` has not run for everyMs (or the clock went back since). */
  due(req: { job: string; now: Date; everyMs: number }): boolean {
    const now = req.now.getTime();
    const last = this.last.get(req.job);
    if (last !== undefined && now - last < req.everyMs && now >= last) return false;
    this.last.set(req.job, now);
    return true;
  }
}
