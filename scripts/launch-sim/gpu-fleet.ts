/**
 * The simulated GPUs of the launch: what the gateways place generations on, and what the light
 * fleet's agents report (through the sim collector's gpuLoad hook). A GPU takes up to `maxPerGpu`
 * generations at once while the operator's safe concurrency is `slotsPerGpu` (what capacity.configure
 * is told): each generation adds `utilPerGeneration` % of utilization (capped at 100), the
 * temperature moves towards 30 + 0.6 × utilization °C with a time constant of `tauSeconds`
 * (thermal inertia), and from `hotC` on the GPU throttles (its generations run `throttleSlowdown`×
 * slower) until it cools below `hotC` − 3. At the safe concurrency (70 %) a GPU settles at 72 °C; at
 * the hardware's limit (100 %) it heads for 90 °C. A GPU whose node lost power takes nothing and reports nothing.
 */
import type { TSimGpuLoad } from '../../apps/agent/src/sim/sim-collector';
import type { TTierName } from './demand';

export type TGpuModel = {
  slotsPerGpu: number;
  maxPerGpu: number;
  utilPerGeneration: number;
  tauSeconds: number;
  hotC: number;
  throttleSlowdown: number;
  /** What a hot GPU counts for in C, as capacity.configure's hotWeight. */
  hotWeight: number;
};

export const DEFAULT_GPU_MODEL: TGpuModel = {
  slotsPerGpu: 2,
  maxPerGpu: 3,
  utilPerGeneration: 35,
  tauSeconds: 15,
  hotC: 85,
  throttleSlowdown: 1.5,
  hotWeight: 0.5,
};

export type TGeneration = {
  tier: TTierName;
  remaining: number;
  gpu: TSimGpu;
  /** Called once, when the work is done or the GPU's node lost power. */
  finish: (outcome: 'done' | 'failed') => void;
};

export type TSimGpu = {
  node: number;
  index: number;
  alive: boolean;
  temp: number;
  throttled: boolean;
  running: Set<TGeneration>;
  /** Seconds spent at or above the hot threshold. */
  hotSeconds: number;
  maxTemp: number;
};

export class GpuFleet {
  readonly gpus: TSimGpu[] = [];

  constructor(
    readonly model: TGpuModel,
    readonly nodes: number,
    readonly gpusPerNode: number,
    seed: number,
  ) {
    for (let n = 0; n < nodes; n++)
      for (let g = 0; g < gpusPerNode; g++) {
        // Idle GPUs differ by a degree or two, as real ones do.
        const idle = 33 + ((n * 7 + g * 3 + seed) % 5);
        this.gpus.push({
          node: n,
          index: g,
          alive: true,
          temp: idle,
          throttled: false,
          running: new Set(),
          hotSeconds: 0,
          maxTemp: idle,
        });
      }
  }

  utilization(g: TSimGpu): number {
    return Math.min(100, g.running.size * this.model.utilPerGeneration);
  }

  /** The hook the light fleet's node i hands its collector. */
  loadHook(node: number): (gpu: number) => TSimGpuLoad | null {
    return (gpu) => {
      const g = this.gpus[node * this.gpusPerNode + gpu];
      if (!g) return null;
      return { utilizationGpu: this.utilization(g), temperatureGpu: g.temp, throttled: g.throttled };
    };
  }

  /**
   * The gateway's placement: the least-loaded live GPU below the safe concurrency (the coolest on a
   * tie); past that, below the hardware's limit; null when every live GPU is full.
   */
  place(gen: Omit<TGeneration, 'gpu'>): TGeneration | null {
    let best: TSimGpu | null = null;
    for (const g of this.gpus) {
      if (!g.alive || g.running.size >= this.model.maxPerGpu) continue;
      if (!best || g.running.size < best.running.size || (g.running.size === best.running.size && g.temp < best.temp))
        best = g;
    }
    if (!best) return null;
    const placed = { ...gen, gpu: best };
    best.running.add(placed);
    return placed;
  }

  /** Advances work and temperatures by dt seconds; finished generations are told so. */
  tick(dt: number): void {
    const m = this.model;
    const k = 1 - Math.exp(-dt / m.tauSeconds);
    for (const g of this.gpus) {
      if (!g.alive) continue;
      const speed = g.throttled ? 1 / m.throttleSlowdown : 1;
      for (const gen of g.running) {
        gen.remaining -= dt * speed;
        if (gen.remaining <= 0) {
          g.running.delete(gen);
          gen.finish('done');
        }
      }
      const target = 30 + 0.6 * this.utilization(g);
      g.temp += (target - g.temp) * k;
      g.maxTemp = Math.max(g.maxTemp, g.temp);
      if (g.temp >= m.hotC) g.hotSeconds += dt;
      g.throttled = g.throttled ? g.temp >= m.hotC - 3 : g.temp >= m.hotC;
    }
  }

  /** The node loses power: its GPUs stop, and what ran on them fails. */
  killNode(node: number): void {
    for (const g of this.gpus) {
      if (g.node !== node || !g.alive) continue;
      g.alive = false;
      for (const gen of g.running) gen.finish('failed');
      g.running.clear();
    }
  }

  /** C as the issue defines it, from the sim's own truth: live GPUs' slots, a hot one counting hotWeight. */
  capacity(): number {
    let c = 0;
    for (const g of this.gpus)
      if (g.alive)
        c += g.temp >= this.model.hotC ? this.model.slotsPerGpu * this.model.hotWeight : this.model.slotsPerGpu;
    return c;
  }

  busy(): Record<TTierName, number> {
    const out: Record<TTierName, number> = { free: 0, plus: 0, pro: 0 };
    for (const g of this.gpus) if (g.alive) for (const gen of g.running) out[gen.tier]++;
    return out;
  }
}
