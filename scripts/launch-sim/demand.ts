/**
 * The launch's demand, drawn once from a seed so both modes of `npm run launch:sim` face the very
 * same arrivals (time, tier, end user, generation length). Offered load is in Erlangs (generations
 * wanted in flight at once) relative to the fleet's configured slots C0: free ramps from 0 to
 * `freePeak` × C0 over the ramp, each paid tier stays at its share of C0 throughout.
 */

export type TTierName = 'free' | 'plus' | 'pro';
export const TIERS: readonly TTierName[] = ['pro', 'plus', 'free'];
export const PAID: readonly TTierName[] = ['pro', 'plus'];

export type TArrival = {
  /** Seconds after the launch starts. */
  at: number;
  tier: TTierName;
  subject: string;
  /** Seconds of GPU work at full speed (a throttled GPU takes longer). */
  work: number;
  id: number;
};

export type TDemandPlan = {
  seed: number;
  /** The fleet's slots at the start (nodes × GPUs × slots per GPU): what "5× capacity" is of. */
  slots0: number;
  seconds: number;
  rampSeconds: number;
  freePeak: number;
  /** Each paid tier's offered load, as a fraction of slots0. */
  paidShare: Record<'plus' | 'pro', number>;
  /** Generation lengths per tier, uniform in [min, max] seconds. */
  work: Record<TTierName, [number, number]>;
  /** End users per tier the arrivals are drawn from. */
  population: Record<TTierName, number>;
};

/** mulberry32: small, fast, and the same sequence on every machine for a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mean = (r: [number, number]) => (r[0] + r[1]) / 2;

/** Offered load of a tier at second t, in Erlangs. */
export function offeredLoad(plan: TDemandPlan, tier: TTierName, t: number): number {
  if (tier === 'free') return plan.freePeak * plan.slots0 * Math.min(1, t / plan.rampSeconds);
  return plan.paidShare[tier] * plan.slots0;
}

/** Poisson arrivals per tier (rate = offered load / mean length), thinned from the peak rate; sorted by time. */
export function drawArrivals(plan: TDemandPlan): TArrival[] {
  const out: TArrival[] = [];
  let id = 0;
  TIERS.forEach((tier, k) => {
    const next = rng(plan.seed * 31 + k + 1);
    const peakRate =
      Math.max(...[0, plan.rampSeconds, plan.seconds].map((t) => offeredLoad(plan, tier, t))) / mean(plan.work[tier]);
    if (!(peakRate > 0)) return;
    for (let t = -Math.log(1 - next()) / peakRate; t < plan.seconds; t += -Math.log(1 - next()) / peakRate) {
      const rate = offeredLoad(plan, tier, t) / mean(plan.work[tier]);
      const keep = next() < rate / peakRate;
      const user = Math.floor(next() * plan.population[tier]);
      const [lo, hi] = plan.work[tier];
      const work = lo + next() * (hi - lo);
      if (keep) out.push({ at: t, tier, subject: `${tier}-user-${user}`, work, id: id++ });
    }
  });
  return out.sort((a, b) => a.at - b.at || a.id - b.id);
}
