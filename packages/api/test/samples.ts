import type { TGpuSample, TTelemetrySample } from '@coolant/telemetry/schema';

export function gpu(index: number, over: Partial<TGpuSample> = {}): TGpuSample {
  return {
    index,
    uuid: `GPU-${index}`,
    name: 'NVIDIA H200',
    pciBusId: `00000000:0${index}:00.0`,
    driverVersion: '580.159.04',
    utilizationGpu: 0,
    utilizationMemory: 0,
    temperatureGpu: 35,
    temperatureMemory: 38,
    memoryUsedMiB: 0,
    memoryTotalMiB: 143771,
    powerDrawW: 79.74,
    powerLimitW: 700,
    clockGraphicsMHz: 345,
    clockMemoryMHz: 3201,
    fanPercent: null,
    pstate: 'P0',
    throttleReasons: { raw: '0x0000000000000001', names: ['gpu_idle'] },
    eccCorrected: 0,
    eccUncorrected: 0,
    migEnabled: false,
    ...over,
  };
}

/** A valid telemetry sample as the agent sends it. */
export function sample(
  seq: number,
  gpus: TGpuSample[],
  at = new Date(),
  over: Partial<TTelemetrySample> = {},
): TTelemetrySample {
  return {
    seq,
    collectedAt: at.toISOString(),
    spoolDropped: 0,
    host: {
      hostname: 'gpu-1',
      cpuLoadPercent: 12.5,
      memUsedBytes: 8e9,
      memTotalBytes: 64e9,
      os: null,
      gpuInventory: null,
    },
    gpus,
    health: {
      durationMs: 40,
      errors: [],
      gpuCount: gpus.length,
      nvidiaSmi: { status: 'ok', exitCode: 0, message: null, queriedFields: [], unsupportedFields: [] },
      hostMetrics: { status: 'ok', message: null },
      inventory: { status: 'no-lspci', nvidiaControllers: null, message: null },
      timeouts: [],
      inventoryMismatch: false,
      inventoryMismatchReason: null,
    },
    ...over,
  };
}
