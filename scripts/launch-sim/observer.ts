/**
 * What the launch table reports of the fleet, from the simulation's own truth (not from the
 * console's view of it): capacity C (live GPUs' slots, hot ones at hotWeight), what each tier holds
 * on the GPUs, the capacity the paid tiers leave, and when the free tier fits again after the node
 * loss. Sampled at every tick of the driver.
 */
import { PAID, type TTierName } from './demand';
import type { GpuFleet } from './gpu-fleet';

export type TTimelinePoint = {
  t: number;
  capacity: number;
  busy: Record<TTierName, number>;
  hotGpus: number;
  maxTemp: number;
};

export class Observer {
  /** Slot-seconds over the steady part (after the ramp). */
  leftover = 0;
  freeServed = 0;
  /** What the capacity rule leaves free: C − paid in flight − paid reservations not in use. */
  ruleShare = 0;
  drainedAt: number | null = null;
  readonly timeline: TTimelinePoint[] = [];
  private fitsSince: number | null = null;
  private nextPoint = 0;

  constructor(
    private readonly fleet: GpuFleet,
    private readonly plan: { rampSeconds: number; lossAt: number; seconds: number },
    private readonly reserved: Record<'plus' | 'pro', number>,
  ) {}

  sample(t: number, dt: number): void {
    const capacity = this.fleet.capacity();
    const busy = this.fleet.busy();
    const paid = busy.plus + busy.pro;
    if (t >= this.plan.rampSeconds && t <= this.plan.seconds) {
      const unused = PAID.reduce(
        (s, tier) => s + Math.max(0, Math.ceil(this.reserved[tier as 'plus' | 'pro'] * capacity) - busy[tier]),
        0,
      );
      this.leftover += dt * Math.max(0, capacity - paid);
      this.freeServed += dt * busy.free;
      this.ruleShare += dt * Math.max(0, capacity - paid - unused);
    }
    // Drained: free holds no more than the capacity the paid tiers leave (2 % slack), for 2 s running.
    // Only while the demand lasts: once arrivals stop, every tier drains by itself.
    if (t >= this.plan.lossAt && t <= this.plan.seconds && this.drainedAt === null) {
      const fits = busy.free <= Math.max(0, capacity - paid) + Math.max(1, 0.02 * capacity);
      if (!fits) this.fitsSince = null;
      else {
        this.fitsSince ??= t;
        if (t - this.fitsSince >= 2) this.drainedAt = this.fitsSince;
      }
    }
    if (t >= this.nextPoint) {
      this.nextPoint += 5;
      let hotGpus = 0;
      let maxTemp = 0;
      for (const g of this.fleet.gpus) {
        if (!g.alive) continue;
        if (g.temp >= this.fleet.model.hotC) hotGpus++;
        maxTemp = Math.max(maxTemp, g.temp);
      }
      this.timeline.push({ t, capacity, busy, hotGpus, maxTemp });
    }
  }

  /** Seconds from the loss to drained; null if it never drained before the end. */
  drainSeconds(): number | null {
    return this.drainedAt === null ? null : this.drainedAt - this.plan.lossAt;
  }

  thermal(): { hottest: number; gpuMinutesHot: number; gpusEverHot: number } {
    let hottest = 0;
    let hot = 0;
    let ever = 0;
    for (const g of this.fleet.gpus) {
      hottest = Math.max(hottest, g.maxTemp);
      hot += g.hotSeconds;
      if (g.hotSeconds > 0) ever++;
    }
    return { hottest, gpuMinutesHot: hot / 60, gpusEverHot: ever };
  }
}
