/**
 * Wire format of a telemetry sample, shared by the agent (producer) and the API (consumer).
 *
 * This file must stay importable by the server and the browser: it imports zod and nothing
 * else (no systeminformation, no node:child_process). Keep it that way; it is published as the
 * package's `./schema` entry for that reason.
 *
 * Every metric is nullable because "unknown" is not "zero": nvidia-smi answers `[N/A]`,
 * `[Not Supported]`, `[GPU requires reset]`... and an idle GPU really is at 0 %.
 */
import { z } from 'zod';

/** HGX boards carry 8 GPUs; 64 leaves room for anything real and still rejects garbage. */
export const MAX_GPUS_PER_HOST = 64;

/**
 * Bounds shared by the schema and the collector, so the collector turns an out-of-range reading
 * into `null` plus a health error instead of producing a sample the server would reject whole.
 */
export const LIMITS = {
  percent: { min: 0, max: 100 },
  /** nvidia-smi's own help says fan.speed "may exceed 100% in certain cases". */
  fanPercent: { min: 0, max: 200 },
  temperatureC: { min: -100, max: 250 },
  /** 16 TiB in MiB: an order of magnitude above the largest GPU memory shipped (141 GiB H200). */
  memoryMiB: { min: 0, max: 16 * 1024 * 1024 },
  powerW: { min: 0, max: 10_000 },
  clockMHz: { min: 0, max: 100_000 },
  eccCount: { min: 0, max: Number.MAX_SAFE_INTEGER },
  gpuIndex: { min: 0, max: MAX_GPUS_PER_HOST - 1 },
  bytes: { min: 0, max: Number.MAX_SAFE_INTEGER },
} as const;

const boundedNumber = (limit: { min: number; max: number }) => z.number().min(limit.min).max(limit.max);
const boundedInt = (limit: { min: number; max: number }) => z.int().min(limit.min).max(limit.max);
const text = (max: number) => z.string().max(max);

/** Names follow nvidia-smi's `clocks_event_reasons.*` fields; bit values are in throttle-reasons.ts. */
export const THROTTLE_REASON_NAMES = [
  'gpu_idle',
  'applications_clocks_setting',
  'sw_power_cap',
  'hw_slowdown',
  'sync_boost',
  'sw_thermal_slowdown',
  'hw_thermal_slowdown',
  'hw_power_brake_slowdown',
  'display_clock_setting',
] as const;
export const ZThrottleReasonName = z.enum(THROTTLE_REASON_NAMES);
export type TThrottleReasonName = z.infer<typeof ZThrottleReasonName>;

export const ZThrottleReasons = z.strictObject({
  /** As nvidia-smi printed it (e.g. `0x0000000000000004`), so bits this version cannot name survive. */
  raw: z.string().regex(/^0x[0-9a-fA-F]{1,16}$/, 'raw must be a hex bitmask like 0x0000000000000004'),
  names: z.array(ZThrottleReasonName).max(THROTTLE_REASON_NAMES.length),
});
export type TThrottleReasons = z.infer<typeof ZThrottleReasons>;

export const ZGpuSample = z.strictObject({
  index: boundedInt(LIMITS.gpuIndex).nullable(),
  uuid: text(128).nullable(),
  name: text(256).nullable(),
  pciBusId: text(64).nullable(),
  driverVersion: text(64).nullable(),
  utilizationGpu: boundedNumber(LIMITS.percent).nullable(),
  utilizationMemory: boundedNumber(LIMITS.percent).nullable(),
  temperatureGpu: boundedNumber(LIMITS.temperatureC).nullable(),
  temperatureMemory: boundedNumber(LIMITS.temperatureC).nullable(),
  memoryUsedMiB: boundedNumber(LIMITS.memoryMiB).nullable(),
  memoryTotalMiB: boundedNumber(LIMITS.memoryMiB).nullable(),
  powerDrawW: boundedNumber(LIMITS.powerW).nullable(),
  powerLimitW: boundedNumber(LIMITS.powerW).nullable(),
  clockGraphicsMHz: boundedNumber(LIMITS.clockMHz).nullable(),
  clockMemoryMHz: boundedNumber(LIMITS.clockMHz).nullable(),
  fanPercent: boundedNumber(LIMITS.fanPercent).nullable(),
  pstate: z
    .string()
    .regex(/^P([0-9]|1[0-5])$/, 'pstate must be P0..P15')
    .nullable(),
  /** null when the driver cannot say; `{ names: [] }` when it says "no reason active". */
  throttleReasons: ZThrottleReasons.nullable(),
  eccCorrected: boundedInt(LIMITS.eccCount).nullable(),
  eccUncorrected: boundedInt(LIMITS.eccCount).nullable(),
  /** Explains null utilization: a MIG-enabled GPU reports `[N/A]` utilization for the whole GPU. */
  migEnabled: z.boolean().nullable(),
});
export type TGpuSample = z.infer<typeof ZGpuSample>;

/** One display/3D controller as lspci (through systeminformation) lists it. */
export const ZPciGpu = z.strictObject({
  busAddress: text(64).nullable(),
  vendor: text(256).nullable(),
  model: text(256).nullable(),
  vramMiB: boundedNumber(LIMITS.memoryMiB).nullable(),
});
export type TPciGpu = z.infer<typeof ZPciGpu>;

export const ZHostOs = z.strictObject({
  platform: text(64).nullable(),
  distro: text(256).nullable(),
  release: text(256).nullable(),
  kernel: text(256).nullable(),
  arch: text(64).nullable(),
});
export type THostOs = z.infer<typeof ZHostOs>;

export const ZHostSample = z.strictObject({
  hostname: z.string().min(1).max(253),
  cpuLoadPercent: boundedNumber(LIMITS.percent).nullable(),
  /** total − available (what `free` calls used): page cache does not count as pressure. */
  memUsedBytes: boundedInt(LIMITS.bytes).nullable(),
  memTotalBytes: boundedInt(LIMITS.bytes).nullable(),
  os: ZHostOs.nullable(),
  /** null when unknown (no lspci, timeout, failure); [] when lspci answered and lists none. */
  gpuInventory: z.array(ZPciGpu).max(256).nullable(),
});
export type THostSample = z.infer<typeof ZHostSample>;

export const ZNvidiaSmiStatus = z.enum(['ok', 'missing', 'failed', 'timeout']);
export type TNvidiaSmiStatus = z.infer<typeof ZNvidiaSmiStatus>;

export const ZInventoryStatus = z.enum(['ok', 'no-lspci', 'failed', 'timeout']);
export type TInventoryStatus = z.infer<typeof ZInventoryStatus>;

export const ZHostMetricsStatus = z.enum(['ok', 'failed', 'timeout']);
export type THostMetricsStatus = z.infer<typeof ZHostMetricsStatus>;

/** The parts of a collection that run under the hard timeout. */
export const ZCollectionPart = z.enum(['nvidia-smi-help', 'nvidia-smi-query', 'si-host', 'si-graphics']);
export type TCollectionPart = z.infer<typeof ZCollectionPart>;

export const ZCollectorHealth = z
  .strictObject({
    durationMs: z.number().min(0).max(3_600_000),
    /** Human-readable, one line each; empty when the cycle was clean. */
    errors: z.array(text(2000)).max(200),
    /** GPUs nvidia-smi answered for in this cycle (may exceed the GPUs sent, which are capped). */
    gpuCount: boundedInt({ min: 0, max: 1024 }),
    nvidiaSmi: z.strictObject({
      status: ZNvidiaSmiStatus,
      exitCode: z.int().nullable(),
      message: text(2000).nullable(),
      /** What this cycle asked for, after dropping what the driver's --help-query-gpu lacks. */
      queriedFields: z.array(text(128)).max(64),
      unsupportedFields: z.array(text(128)).max(64),
    }),
    hostMetrics: z.strictObject({ status: ZHostMetricsStatus, message: text(2000).nullable() }),
    inventory: z.strictObject({
      status: ZInventoryStatus,
      /** NVIDIA controllers lspci lists; null when the inventory is unknown. */
      nvidiaControllers: boundedInt({ min: 0, max: 256 }).nullable(),
      message: text(2000).nullable(),
      /**
       * How old the inventory is: 0 when this cycle gathered it; otherwise it was gathered that
       * long ago and reused (the agent refreshes it every few minutes and whenever nvidia-smi's
       * GPU set changes). Optional: agents that gathered it every cycle do not send it.
       */
      ageMs: boundedInt(LIMITS.bytes).optional(),
    }),
    timeouts: z.array(z.strictObject({ part: ZCollectionPart, afterMs: z.number().min(0) })).max(8),
    inventoryMismatch: z.boolean(),
    inventoryMismatchReason: text(2000).nullable(),
    /**
     * Samples the agent's spool set aside so far because the console refused them one by one (a
     * 400 or 413 naming that sample alone); persisted, never reset. Filled in by the spool, not the
     * collector, and optional so samples of agents that predate it stay valid.
     */
    spoolQuarantined: boundedInt(LIMITS.bytes).optional(),
    /** Why the last one was refused, as the console said it. */
    spoolQuarantineReason: text(2000).nullable().optional(),
  })
  .refine((h) => h.inventoryMismatch === (h.inventoryMismatchReason !== null), {
    message: 'inventoryMismatchReason must be set exactly when inventoryMismatch is true',
    path: ['inventoryMismatchReason'],
  });
export type TCollectorHealth = z.infer<typeof ZCollectorHealth>;

export const ZTelemetrySample = z.strictObject({
  /** Per node, strictly increasing, persisted by the spool across restarts; the server drops duplicates by it. */
  seq: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  /** When the collection started. */
  collectedAt: z.iso.datetime({ offset: true }),
  /** Samples this node's spool has discarded so far (cap reached while the console was unreachable). */
  spoolDropped: boundedInt(LIMITS.bytes),
  host: ZHostSample,
  gpus: z
    .array(ZGpuSample)
    .max(MAX_GPUS_PER_HOST, `at most ${MAX_GPUS_PER_HOST} GPUs per host`)
    .superRefine((gpus, ctx) => {
      // The console keys a GPU by this slot (the index, else the position); two readings for one
      // slot in one sample would be one upsert touching a row twice, which PostgreSQL refuses.
      const seen = new Set<number>();
      const repeated = new Set<number>();
      gpus.forEach((g, position) => {
        const slot = g.index ?? position;
        if (seen.has(slot)) repeated.add(slot);
        seen.add(slot);
      });
      if (repeated.size > 0)
        ctx.addIssue({ code: 'custom', message: `duplicate GPU index ${[...repeated].join(', ')}` });
    }),
  health: ZCollectorHealth,
});
export type TTelemetrySample = z.infer<typeof ZTelemetrySample>;

/** What one collection cycle produces; the spool adds `seq` and `spoolDropped`. */
export const ZCollectedSample = ZTelemetrySample.omit({ seq: true, spoolDropped: true });
export type TCollectedSample = z.infer<typeof ZCollectedSample>;
