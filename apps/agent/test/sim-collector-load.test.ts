/**
 * The light sim's GPU-load hook (sim-collector.ts): a driver that places work on simulated GPUs
 * must see its utilization and temperature in the samples the agent spools, while a node without
 * the hook keeps the GPU model's values (what `npm run fleet:sim -- --light` shows).
 */
import { describe, expect, it } from 'vitest';
import { ZCollectedSample } from '@coolant/telemetry';
import { createSimCollector } from '../src/sim/sim-collector';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const node = { seed: 3, gpus: 2, profile: 'normal' as const, hostname: 'sim-003' };

describe('sim collector GPU-load hook', () => {
  it('without a hook, samples are the GPU model alone', async () => {
    const a = await createSimCollector(node, () => NOW).collect({ timeoutMs: 1000 });
    const b = await createSimCollector({ ...node, gpuLoad: () => null }, () => NOW).collect({ timeoutMs: 1000 });
    expect(b).toEqual(a);
    expect(ZCollectedSample.safeParse(a).success).toBe(true);
  });

  it('the hook sets utilization, temperature and the thermal throttle per GPU; samples stay valid', async () => {
    const collector = createSimCollector(
      {
        ...node,
        gpuLoad: (gpu) =>
          gpu === 0
            ? { utilizationGpu: 0, temperatureGpu: 33.4, throttled: false }
            : { utilizationGpu: 100, temperatureGpu: 91.6, throttled: true },
      },
      () => NOW,
    );
    const s = await collector.collect({ timeoutMs: 1000 });
    expect(ZCollectedSample.safeParse(s).success).toBe(true);
    expect(s.gpus.map((g) => [g.utilizationGpu, g.temperatureGpu])).toEqual([
      [0, 33],
      [100, 92],
    ]);
    expect(s.gpus[0]!.throttleReasons?.names).toEqual(['gpu_idle']);
    expect(s.gpus[1]!.throttleReasons?.names).toEqual(['sw_thermal_slowdown']);
    expect(s.gpus[1]!.clockGraphicsMHz).toBeLessThan(1980);
  });
});
