/**
 * The capacity schedule of one instance: every second it looks at the snapshot and, when it is
 * older than REFRESH_MS, measures the fleet and compare-and-sets it (capacity-snapshot.ts), so C
 * is at most ~3 s old while any instance runs, whoever wins each refresh; the winner also keeps
 * the history sample. Every ten minutes it prunes history older than a day. It holds the last
 * snapshot it saw, for callers that must not wait on the database (none yet: the lease path on
 * PostgreSQL reads the row in its own transaction).
 */
import type { TDb } from '@coolant/db';
import { readCapacityShares } from './capacity-config';
import { reservedSlots } from './capacity-rule';
import { pruneCapacitySamples, refreshCapacitySnapshot, type TCapacitySnapshot } from './capacity-snapshot';
import { countInflight } from './lease-counts';

export type TCapacityServiceOptions = {
  db: TDb;
  now: () => Date;
  instanceId: string;
  offlineAfterMs: number;
  log?: (m: string) => void;
};

const TICK_MS = 1_000;
const PRUNE_EVERY_MS = 10 * 60_000;

export class CapacityService {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private ticking: Promise<void> | null = null;
  private lastPrune = 0;
  /** The last snapshot this instance read or wrote. */
  current: TCapacitySnapshot | null = null;

  constructor(private readonly opts: TCapacityServiceOptions) {}

  start(background: boolean): void {
    if (!background) return;
    this.running = true;
    const loop = async () => {
      if (!this.running) return;
      this.ticking = this.tick().then(
        () => undefined,
        (error: unknown) => this.opts.log?.(`capacity refresh failed: ${(error as Error).message}`),
      );
      await this.ticking;
      if (this.running) {
        this.timer = setTimeout(() => void loop(), TICK_MS);
        this.timer.unref();
      }
    };
    this.timer = setTimeout(() => void loop(), 200);
    this.timer.unref();
  }

  /** One pass: refresh C if due (the CAS decides who writes), prune history when due. */
  async tick(): Promise<TCapacitySnapshot> {
    const { db } = this.opts;
    const now = this.opts.now();
    this.current = await refreshCapacitySnapshot({
      db,
      now,
      instanceId: this.opts.instanceId,
      offlineAfterMs: this.opts.offlineAfterMs,
      sampleTiers: (slots) => tierFigures({ db, now, slots }),
    });
    if (now.getTime() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now.getTime();
      await pruneCapacitySamples({ db, now });
    }
    return this.current;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
  }
}

/** In flight and R(t) per tier name, for the history sample. */
async function tierFigures(req: { db: TDb; now: Date; slots: number }) {
  const [shares, inflight] = await Promise.all([readCapacityShares(req.db), countInflight(req)]);
  return Object.fromEntries(
    shares.map((s) => [
      s.tier,
      { inflight: inflight.get(s.tierId) ?? 0, reservedSlots: reservedSlots(s.reserved, req.slots) },
    ]),
  );
}
