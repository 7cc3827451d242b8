/**
 * Durations of the leases that ended normally in the last ten minutes, per tier, for the
 * retryAfterSeconds of a refusal (Little's law in capacity-rule.ts). Kept in memory from this
 * instance's releases and seeded from the table at start (and again by each sweep on PostgreSQL,
 * where other instances release too), so a refusal never waits on a read.
 */
import type { TDb } from '@coolant/db';
import { OBSERVED_MAX, OBSERVED_WINDOW_MS } from '../../capacity/lease-counts';
import { typicalDurationMs } from '../../capacity/capacity-rule';

const PER_TIER = 200;

export class LeaseDurations {
  private readonly byTier = new Map<string, { atMs: number; ms: number }[]>();

  record(req: { tierId: string; atMs: number; ms: number }): void {
    if (req.ms < 0) return;
    let list = this.byTier.get(req.tierId);
    if (!list) this.byTier.set(req.tierId, (list = []));
    list.push({ atMs: req.atMs, ms: req.ms });
    if (list.length > PER_TIER) list.splice(0, list.length - PER_TIER);
  }

  /** Median duration (ms) of the tier's recent leases, or null with none observed. */
  typical(req: { tierId: string; nowMs: number }): number | null {
    const list = this.byTier.get(req.tierId);
    if (!list) return null;
    const from = req.nowMs - OBSERVED_WINDOW_MS;
    while (list.length > 0 && list[0]!.atMs < from) list.shift();
    return typicalDurationMs(list.map((d) => d.ms));
  }

  /** Replaces what is held with the table's view (every instance's releases). */
  async load(req: { db: TDb; now: Date }): Promise<void> {
    const rows = await req.db.generationLease.findMany({
      where: {
        outcome: { in: ['done', 'failed'] },
        releasedAt: { gte: new Date(req.now.getTime() - OBSERVED_WINDOW_MS) },
      },
      select: { tierId: true, createdAt: true, releasedAt: true },
      orderBy: { releasedAt: 'asc' },
      take: OBSERVED_MAX,
    });
    this.byTier.clear();
    for (const r of rows) {
      const at = r.releasedAt!.getTime();
      this.record({ tierId: r.tierId, atMs: at, ms: at - r.createdAt.getTime() });
    }
  }
}
