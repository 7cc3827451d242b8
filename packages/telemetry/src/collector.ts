import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HostMetricsReader, type THostFiles, type THostMetrics } from './host-metrics.ts';
import { compareInventory } from './inventory.ts';
import { queryNvidiaSmi, type TNvidiaSmiResult } from './nvidia-smi.ts';
import {
  LIMITS,
  MAX_GPUS_PER_HOST,
  type TCollectedSample,
  type TCollectorHealth,
  type TGpuSample,
  type THostSample,
} from './schema.ts';
import { InventoryChild, type TInventoryPart, type TWorkerLaunch } from './si-worker-client.ts';

export type TCollectorOptions = {
  /** nvidia-smi for the collector's own query; a bare name is looked up on env.PATH. Default `nvidia-smi`. */
  nvidiaSmiPath?: string;
  /**
   * Environment for every child (nvidia-smi, the inventory child and what it runs).
   * PATH decides which nvidia-smi and lspci are found. Default: process.env.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * How to start the inventory child. Default: si-worker.ts (under tsx) or si-worker.js next to
   * this module. A packaged agent passes a launch of itself in its collector role, whose entry
   * calls runCollectorChild() from `@coolant/telemetry/collector-child`.
   */
  workerLaunch?: TWorkerLaunch;
  /** A good PCI inventory is reused this long; then the next cycle gathers a new one. Default 10 minutes. */
  inventoryRefreshMs?: number;
  /** After a failed or timed-out inventory, the next try waits this long. Default 1 minute. */
  inventoryRetryMs?: number;
  /** Where the kernel's host metrics are read (tests point these at fakes). */
  hostFiles?: THostFiles;
};

export type TCollectOptions = {
  /** Hard bound for the whole cycle; whatever has not answered by then is killed and reported. */
  timeoutMs: number;
};

export type TCollector = {
  collect(options: TCollectOptions): Promise<TCollectedSample>;
  /** Pid of the inventory child while one runs (undefined between inventories: none is resident). */
  readonly workerPid: number | undefined;
  close(): Promise<void>;
};

const MAX_ERRORS = 200;
const MAX_ERROR_LENGTH = 2000;
export const INVENTORY_REFRESH_MS = 10 * 60_000;
export const INVENTORY_RETRY_MS = 60_000;

type TInventoryRecord = {
  part: TInventoryPart;
  /** When it was gathered. */
  at: number;
  /** nvidia-smi's GPU set in the cycle that gathered it (null when nvidia-smi timed out then). */
  gpuSet: string | null;
};

/**
 * A collector for a long-running agent. Each cycle reads host metrics from the kernel in this
 * process and runs one bounded nvidia-smi query. The PCI inventory (systeminformation in a child
 * process) changes rarely, so it is gathered in a short-lived child only when due: on the first
 * cycle, when the last one is older than inventoryRefreshMs (inventoryRetryMs after a failure),
 * and in the very cycle nvidia-smi's GPU set differs from the set seen when it was gathered (so a
 * GPU falling off the bus is compared against a fresh lspci). In between, the last inventory is
 * reused, and health says how old it is (inventory.ageMs). No helper process stays resident.
 * Collections are serialised; call close() on shutdown.
 */
export function createCollector(options: TCollectorOptions = {}): TCollector {
  const env = options.env ?? process.env;
  const nvidiaSmiPath = options.nvidiaSmiPath ?? 'nvidia-smi';
  const refreshMs = options.inventoryRefreshMs ?? INVENTORY_REFRESH_MS;
  const retryMs = options.inventoryRetryMs ?? INVENTORY_RETRY_MS;
  const child = new InventoryChild({ env, launch: options.workerLaunch });
  const hostReader = new HostMetricsReader(options.hostFiles);
  let last: TInventoryRecord | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  const gatherInventory = async (deadline: number): Promise<TInventoryPart> => {
    // Without lspci, graphics() returns no controller at all (and never runs nvidia-smi), which
    // would read as "this host has no GPU": say "unknown", and start no child for it.
    const searchedPath = env['PATH'] ?? '';
    if (!(await onPath('lspci', searchedPath)))
      return { status: 'no-lspci', message: `lspci not found on PATH (${searchedPath || 'empty'})` };
    return child.run(deadline);
  };

  const collectOnce = async ({ timeoutMs }: TCollectOptions): Promise<TCollectedSample> => {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    const started = Date.now();
    const deadline = started + timeoutMs;
    const dueByAge = last === null || started - last.at >= (isGood(last.part) ? refreshMs : retryMs);
    // All parts run in parallel under the same deadline, so the cycle ends near timeoutMs even
    // when nvidia-smi and the inventory both hang.
    const inventoryRun = dueByAge ? gatherInventory(deadline) : null;
    const [smi, host] = await Promise.all([
      queryNvidiaSmi({ nvidiaSmiPath, env, deadline }),
      hostReader.read(deadline),
    ]);
    const gpuSet = smi.health.status === 'timeout' ? null : gpuSetKey(smi.gpus);
    let fresh: TInventoryPart | null = inventoryRun ? await inventoryRun : null;
    // The GPU set changed since the inventory was gathered: compare against a fresh one now.
    if (!fresh && gpuSet !== null && gpuSet !== last?.gpuSet) fresh = await gatherInventory(deadline);
    if (fresh) last = { part: fresh, at: Date.now(), gpuSet };
    const record = last!;
    return assemble({
      started,
      smi,
      host,
      inventory: record.part,
      inventoryFresh: fresh !== null,
      inventoryAgeMs: fresh ? 0 : Math.max(0, started - record.at),
    });
  };

  return {
    collect(collectOptions) {
      const run = queue.then(() => collectOnce(collectOptions));
      queue = run.catch(() => undefined);
      return run;
    },
    get workerPid() {
      return child.pid;
    },
    close: () => child.close(),
  };
}

/**
 * One-shot collection: gathers the inventory in a child, collects, and leaves nothing running.
 * CPU load is measured over a short window (MIN_LOAD_WINDOW_MS) from creation; an agent sampling
 * in a loop should keep a createCollector() instead.
 */
export async function collectSample(options: TCollectOptions & TCollectorOptions): Promise<TCollectedSample> {
  const collector = createCollector(options);
  try {
    return await collector.collect({ timeoutMs: options.timeoutMs });
  } finally {
    await collector.close();
  }
}

function assemble({
  started,
  smi,
  host: metrics,
  inventory,
  inventoryFresh,
  inventoryAgeMs,
}: {
  started: number;
  smi: TNvidiaSmiResult;
  host: THostMetrics & { errors: string[] };
  inventory: TInventoryPart;
  inventoryFresh: boolean;
  inventoryAgeMs: number;
}): TCollectedSample {
  const errors = [...smi.errors];
  const timeouts: TCollectorHealth['timeouts'] = smi.timeout ? [smi.timeout] : [];

  const hostMessage = metrics.errors.length ? metrics.errors.join('; ') : null;
  if (hostMessage) errors.push(`host metrics: ${hostMessage}`);

  let inventoryMessage: string | null = null;
  if (inventory.status === 'failed' || inventory.status === 'no-lspci') inventoryMessage = inventory.message;
  if (inventory.status === 'timeout') {
    inventoryMessage = `systeminformation graphics() timed out after ${inventory.afterMs} ms; inventory child and its children killed`;
    // Only the cycle that ran it timed out; a reused result still says so in its status and error.
    if (inventoryFresh) timeouts.push({ part: 'si-graphics', afterMs: inventory.afterMs });
  }
  if (inventoryMessage && inventory.status !== 'no-lspci') errors.push(`GPU inventory: ${inventoryMessage}`);
  const controllers = inventory.status === 'ok' ? inventory.controllers : null;

  let gpus = smi.gpus;
  if (gpus.length > MAX_GPUS_PER_HOST) {
    errors.push(`nvidia-smi reported ${gpus.length} GPUs; only the first ${MAX_GPUS_PER_HOST} are sent`);
    gpus = gpus.slice(0, MAX_GPUS_PER_HOST);
  }

  const comparison = compareInventory({
    inventoryStatus: inventory.status,
    controllers,
    nvidiaSmiStatus: smi.health.status,
    gpus: smi.gpus,
  });

  const host: THostSample = {
    hostname: os.hostname() || 'unknown',
    cpuLoadPercent: clampPercent(metrics.cpuLoadPercent),
    memUsedBytes: bytesOrNull(metrics.memUsedBytes),
    memTotalBytes: bytesOrNull(metrics.memTotalBytes),
    os: metrics.os,
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
      hostMetrics: { status: hostMessage ? 'failed' : 'ok', message: hostMessage },
      inventory: {
        status: inventory.status,
        nvidiaControllers: comparison.nvidiaControllers,
        message: inventoryMessage,
        ageMs: Math.round(inventoryAgeMs),
      },
      timeouts,
      inventoryMismatch: comparison.mismatch,
      inventoryMismatchReason: comparison.reason,
    },
  };
}

/** Bus addresses (else uuids, else indexes) of what nvidia-smi listed, in a stable order. */
function gpuSetKey(gpus: TGpuSample[]): string {
  return gpus
    .map((g, i) => g.pciBusId ?? g.uuid ?? `#${g.index ?? i}`)
    .sort()
    .join(',');
}

function isGood(part: TInventoryPart): boolean {
  return part.status === 'ok' || part.status === 'no-lspci';
}

async function onPath(command: string, searchPath: string): Promise<boolean> {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    try {
      await access(path.join(dir, command), fsConstants.X_OK);
      return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

/** A ratio of tick counts can land a rounding error outside 0..100. */
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
