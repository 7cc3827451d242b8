/**
 * The collector of one simulated node in the light fleet simulation (`npm run fleet:sim -- --light`):
 * no nvidia-smi process and no systeminformation child, so a thousand of them fit in one process.
 * The GPU values come from the same model the process-per-node sim's fake nvidia-smi prints
 * (scripts/fleet-sim/gpu-model.mjs), as the same CSV, read by the agent's own parser
 * (parseQueryGpuCsv, gpuSampleFromRow): a sim node's sample is what the real collector would make
 * of that nvidia-smi. Host metrics and the PCI inventory are made up to match the node's GPUs.
 */
import {
  compareInventory,
  gpuSampleFromRow,
  parseQueryGpuCsv,
  selectQueryFields,
  type TCollectedSample,
  type TCollector,
  type TCollectorHealth,
  type TGpuSample,
  type TPciGpu,
} from '@coolant/telemetry';
import template from '../../../../packages/telemetry/test/fixtures/h100-80gb-hbm3.json';
import {
  busId,
  noise,
  queryGpus,
  type TGpuTemplate,
  type TSimProfile,
} from '../../../../scripts/fleet-sim/gpu-model.mjs';

export type TSimNode = {
  seed: number;
  gpus: number;
  profile: TSimProfile;
  hostname: string;
  /** Optional driver of this node's GPUs (see TSimGpuLoad); without it the GPU model moves them alone. */
  gpuLoad?: TSimGpuLoadHook;
};

/**
 * What an in-process driver (the launch simulation, scripts/launch-sim/) imposes on one GPU for a
 * sample: the work it placed there decides utilization and heat, instead of the model's wave.
 * Power and clocks follow; throttled sets nvidia-smi's sw_thermal_slowdown reason.
 */
export type TSimGpuLoad = { utilizationGpu: number; temperatureGpu: number; throttled: boolean };
/** Asked once per GPU per sample; null leaves that GPU to the model. */
export type TSimGpuLoadHook = (gpu: number, nowMs: number) => TSimGpuLoad | null;

const TEMPLATE = template as unknown as TGpuTemplate;
// What the driver of the capture lists in --help-query-gpu, hence what the real collector asks for.
const SELECTION = selectQueryFields(new Set(TEMPLATE.helpQueryGpu.flat()));
const MEM_TOTAL = 2048 * 1024 ** 3;

export function createSimCollector(node: TSimNode, now: () => number = Date.now): TCollector {
  // lspci's view: every GPU of the node, whether or not nvidia-smi answers for it this cycle.
  const inventory: TPciGpu[] = Array.from({ length: node.gpus }, (_, g) => ({
    busAddress: busId(node.seed, g).slice('00000000:'.length),
    vendor: 'NVIDIA Corporation',
    model: 'GH100 [H100 SXM5 80GB]',
    vramMiB: 81_559,
  }));
  return {
    collect: () => Promise.resolve(collect(node, inventory, now())),
    workerPid: undefined,
    close: () => Promise.resolve(),
  };
}

function collect(node: TSimNode, inventory: TPciGpu[], nowMs: number): TCollectedSample {
  const answer = queryGpus({
    template: TEMPLATE,
    seed: node.seed,
    gpus: node.gpus,
    profile: node.profile,
    fields: SELECTION.fields,
    nowMs,
  });
  const errors: string[] = [];
  let gpus: TGpuSample[] = [];
  let nvidiaSmi: TCollectorHealth['nvidiaSmi'];
  const fields = { queriedFields: SELECTION.fields, unsupportedFields: SELECTION.unsupported };
  if ('csv' in answer) {
    const parsed = parseQueryGpuCsv(answer.csv, SELECTION.fields);
    gpus = parsed.rows.map((row, i) => gpuSampleFromRow(row, errors, `GPU ${row['index'] ?? `line ${i + 1}`}`));
    if (node.gpuLoad) gpus = gpus.map((g) => withLoad(g, node.gpuLoad!(g.index ?? 0, nowMs)));
    errors.unshift(...parsed.problems.map((p) => `nvidia-smi output ${p}`));
    nvidiaSmi = { status: 'ok', exitCode: 0, message: null, ...fields };
  } else {
    // What the real collector reports for nvidia-smi's exit 15 (a lost GPU) or an unknown field.
    const message = 'lost' in answer ? answer.lost : `Field "${answer.badField}" is not a valid field to query.`;
    const exitCode = 'lost' in answer ? 15 : 2;
    errors.push(`nvidia-smi exited with code ${exitCode}: ${message}`);
    nvidiaSmi = { status: 'failed', exitCode, message, ...fields };
  }
  const comparison = compareInventory({
    inventoryStatus: 'ok',
    controllers: inventory,
    nvidiaSmiStatus: nvidiaSmi.status,
    gpus,
  });
  const busy = gpus.reduce((sum, g) => sum + (g.utilizationGpu ?? 0), 0) / Math.max(1, gpus.length);
  // Not parsed here: the spool validates every sample against ZCollectedSample before storing it.
  return {
    collectedAt: new Date(nowMs).toISOString(),
    host: {
      hostname: node.hostname,
      cpuLoadPercent: Math.round(5 + busy * 0.3 + noise(node.seed, 0, 11, nowMs) * 10),
      memUsedBytes: Math.round(MEM_TOTAL * (0.2 + busy / 250)),
      memTotalBytes: MEM_TOTAL,
      os: { platform: 'linux', distro: 'Ubuntu', release: '22.04.5 LTS', kernel: '5.15.0-139-generic', arch: 'x64' },
      gpuInventory: inventory,
    },
    gpus,
    health: {
      durationMs: Math.round(60 + noise(node.seed, 0, 12, nowMs) * 80),
      errors,
      gpuCount: gpus.length,
      nvidiaSmi,
      hostMetrics: { status: 'ok', message: null },
      inventory: { status: 'ok', nvidiaControllers: comparison.nvidiaControllers, message: null },
      timeouts: [],
      inventoryMismatch: comparison.mismatch,
      inventoryMismatchReason: comparison.reason,
    },
  };
}

function withLoad(g: TGpuSample, load: TSimGpuLoad | null): TGpuSample {
  if (!load) return g;
  const util = Math.max(0, Math.min(100, Math.round(load.utilizationGpu)));
  const temp = Math.round(load.temperatureGpu);
  const busy = util > 5;
  return {
    ...g,
    utilizationGpu: util,
    utilizationMemory: Math.round(util * 0.6),
    temperatureGpu: temp,
    temperatureMemory: temp + 4,
    powerDrawW: Math.round(70 + util * 6.2),
    clockGraphicsMHz: busy ? (load.throttled ? 1410 : 1980) : 345,
    throttleReasons: load.throttled
      ? { raw: '0x0000000000000020', names: ['sw_thermal_slowdown'] }
      : busy
        ? { raw: '0x0000000000000000', names: [] }
        : { raw: '0x0000000000000001', names: ['gpu_idle'] },
  };
}
