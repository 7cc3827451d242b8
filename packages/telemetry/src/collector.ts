import os from 'node:os';
import { compareInventory } from './inventory.ts';
import { queryNvidiaSmi, type TNvidiaSmiResult } from './nvidia-smi.ts';
import { LIMITS, MAX_GPUS_PER_HOST, type TCollectedSample, type TCollectorHealth, type THostSample } from './schema.ts';
import { SiWorker, type TWorkerCollectResult, type TWorkerLaunch } from './si-worker-client.ts';

export type TCollectorOptions = {
  /** nvidia-smi for the collector's own query; a bare name is looked up on env.PATH. Default `nvidia-smi`. */
  nvidiaSmiPath?: string;
  /**
   * Environment for every child (nvidia-smi, the systeminformation worker and what it runs).
   * PATH decides which nvidia-smi and lspci are found. Default: process.env.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * How to start the systeminformation worker. Default: si-worker.ts (under tsx) or si-worker.js
   * next to this module. A packaged agent passes a launch of itself in its collector role, whose
   * entry calls runCollectorChild() from `@coolant/telemetry/collector-child`.
   */
  workerLaunch?: TWorkerLaunch;
};

export type TCollectOptions = {
  /** Hard bound for the whole cycle; whatever has not answered by then is killed and reported. */
  timeoutMs: number;
};

export type TCollector = {
  collect(options: TCollectOptions): Promise<TCollectedSample>;
  /** Pid of the systeminformation worker between collections (undefined when none runs). */
  readonly workerPid: number | undefined;
  close(): Promise<void>;
};

const MAX_ERRORS = 200;
const MAX_ERROR_LENGTH = 2000;

/**
 * A collector for a long-running agent: it keeps one systeminformation worker alive between
 * cycles, so CPU load is measured over the interval between samples and no process start is paid
 * per cycle. Collections are serialised; call close() on shutdown.
 */
export function createCollector(options: TCollectorOptions = {}): TCollector {
  const env = options.env ?? process.env;
  const nvidiaSmiPath = options.nvidiaSmiPath ?? 'nvidia-smi';
  const worker = new SiWorker({ env, launch: options.workerLaunch });
  let queue: Promise<unknown> = Promise.resolve();

  const collectOnce = async ({ timeoutMs }: TCollectOptions): Promise<TCollectedSample> => {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    const started = Date.now();
    const deadline = started + timeoutMs;
    // Both halves run in parallel under the same deadline, so the cycle ends near timeoutMs even
    // when both hang.
    const [smi, si] = await Promise.all([queryNvidiaSmi({ nvidiaSmiPath, env, deadline }), worker.collect(deadline)]);
    return assemble({ started, smi, si });
  };

  return {
    collect(collectOptions) {
      const run = queue.then(() => collectOnce(collectOptions));
      queue = run.catch(() => undefined);
      return run;
    },
    get workerPid() {
      return worker.pid;
    },
    close: () => worker.close(),
  };
}

/**
 * One-shot collection: starts a worker, collects, stops it. Adds a fraction of a second of worker
 * start-up; an agent sampling in a loop should keep a createCollector() instead.
 */
export async function collectSample(options: TCollectOptions & TCollectorOptions): Promise<TCollectedSample> {
  const collector = createCollector(options);
  try {
    return await collector.collect({ timeoutMs: options.timeoutMs });
  } finally {
    await collector.close();
  }
}

function assemble({ started, smi, si }: { started: number; smi: TNvidiaSmiResult; si: TWorkerCollectResult }): TCollectedSample {
  const errors = [...smi.errors];
  const timeouts: TCollectorHealth['timeouts'] = smi.timeout ? [smi.timeout] : [];

  const metrics = si.host.status === 'ok' ? si.host.metrics : null;
  let hostMessage: string | null = null;
  if (si.host.status === 'failed') hostMessage = si.host.message;
  if (si.host.status === 'timeout') {
    hostMessage = `systeminformation host metrics timed out after ${si.host.afterMs} ms; worker killed`;
    timeouts.push({ part: 'si-host', afterMs: si.host.afterMs });
  }
  if (hostMessage) errors.push(`host metrics: ${hostMessage}`);

  let inventoryMessage: string | null = null;
  if (si.inventory.status === 'failed' || si.inventory.status === 'no-lspci') inventoryMessage = si.inventory.message;
  // A host-metrics timeout already explains why the inventory never came.
  if (si.inventory.status === 'timeout') {
    inventoryMessage = `systeminformation graphics() timed out after ${si.inventory.afterMs} ms; worker and its children killed`;
    if (si.host.status !== 'timeout') timeouts.push({ part: 'si-graphics', afterMs: si.inventory.afterMs });
  }
  if (inventoryMessage && si.inventory.status !== 'no-lspci') errors.push(`GPU inventory: ${inventoryMessage}`);
  const controllers = si.inventory.status === 'ok' ? si.inventory.controllers : null;

  let gpus = smi.gpus;
  if (gpus.length > MAX_GPUS_PER_HOST) {
    errors.push(`nvidia-smi reported ${gpus.length} GPUs; only the first ${MAX_GPUS_PER_HOST} are sent`);
    gpus = gpus.slice(0, MAX_GPUS_PER_HOST);
  }

  const comparison = compareInventory({ inventoryStatus: si.inventory.status, controllers, nvidiaSmiStatus: smi.health.status, gpus: smi.gpus });

  const host: THostSample = {
    // From this process, not the worker, so a sample always says where it came from.
    hostname: os.hostname() || 'unknown',
    cpuLoadPercent: metrics ? clampPercent(metrics.cpuLoadPercent) : null,
    memUsedBytes: metrics ? bytesOrNull(metrics.memUsedBytes) : null,
    memTotalBytes: metrics ? bytesOrNull(metrics.memTotalBytes) : null,
    os: metrics?.os ?? null,
    gpuInventory: controllers,
  };

  return {
    collectedAt: new Date(started).toISOString(),
    host,
    gpus,
    health: {
      durationMs: Date.now() - started,
      errors: boundErrors(errors),
      gpuCount: smi.gpus.length,
      nvidiaSmi: smi.health,
      hostMetrics: { status: si.host.status, message: hostMessage },
      inventory: { status: si.inventory.status, nvidiaControllers: comparison.nvidiaControllers, message: inventoryMessage },
      timeouts,
      inventoryMismatch: comparison.mismatch,
      inventoryMismatchReason: comparison.reason,
    },
  };
}

/** currentLoad is a ratio of tick counts and can land a rounding error outside 0..100. */
function clampPercent(value: number | null): number | null {
  return value === null ? null : Math.min(LIMITS.percent.max, Math.max(LIMITS.percent.min, value));
}

function bytesOrNull(value: number | null): number | null {
  return value !== null && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function boundErrors(errors: string[]): string[] {
  const clipped = errors.map((e) => (e.length > MAX_ERROR_LENGTH ? `${e.slice(0, MAX_ERROR_LENGTH - 1)}…` : e));
  if (clipped.length <= MAX_ERRORS) return clipped;
  return [...clipped.slice(0, MAX_ERRORS - 1), `… and ${clipped.length - MAX_ERRORS + 1} more`];
}
