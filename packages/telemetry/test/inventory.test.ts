import { describe, expect, test } from 'vitest';
import { compareInventory } from '../src/inventory.ts';
import type { TGpuSample, TPciGpu } from '../src/schema.ts';

const pci = (busAddress: string, vendor = 'NVIDIA Corporation'): TPciGpu => ({
  busAddress,
  vendor,
  model: 'GH100 [H100 SXM5 80GB]',
  vramMiB: 81559,
});
const gpu = (pciBusId: string | null): TGpuSample => ({
  index: 0,
  uuid: null,
  name: null,
  pciBusId,
  driverVersion: null,
  utilizationGpu: null,
  utilizationMemory: null,
  temperatureGpu: null,
  temperatureMemory: null,
  memoryUsedMiB: null,
  memoryTotalMiB: null,
  powerDrawW: null,
  powerLimitW: null,
  clockGraphicsMHz: null,
  clockMemoryMHz: null,
  fanPercent: null,
  pstate: null,
  throttleReasons: null,
  eccCorrected: null,
  eccUncorrected: null,
  migEnabled: null,
});

describe('compareInventory', () => {
  test('same GPUs on both sides (domain prefix and case ignored): no mismatch', () => {
    const result = compareInventory({
      inventoryStatus: 'ok',
      controllers: [pci('02:00.0', 'ASPEED Technology, Inc.'), pci('1b:00.0'), pci('9A:00.0')],
      nvidiaSmiStatus: 'ok',
      gpus: [gpu('00000000:1B:00.0'), gpu('00000000:9A:00.0')],
    });
    expect(result).toEqual({ nvidiaControllers: 2, mismatch: false, reason: null });
  });

  test('same count, different buses is a mismatch', () => {
    const result = compareInventory({
      inventoryStatus: 'ok',
      controllers: [pci('1b:00.0')],
      nvidiaSmiStatus: 'ok',
      gpus: [gpu('00000000:1C:00.0')],
    });
    expect(result.reason).toBe(
      'lspci lists 1 NVIDIA controller, nvidia-smi reports 1 GPU (on PCI but not in nvidia-smi: 1b:00.0; in nvidia-smi but not on PCI: 1c:00.0)',
    );
  });

  test('no lspci with no GPU from nvidia-smi either: nothing disagrees', () => {
    expect(
      compareInventory({ inventoryStatus: 'no-lspci', controllers: null, nvidiaSmiStatus: 'missing', gpus: [] })
        .mismatch,
    ).toBe(false);
  });

  test.each(['timeout', 'failed'] as const)('inventory %s: not compared', (status) => {
    expect(
      compareInventory({
        inventoryStatus: status,
        controllers: null,
        nvidiaSmiStatus: 'ok',
        gpus: [gpu('00000000:1B:00.0')],
      }),
    ).toEqual({ nvidiaControllers: null, mismatch: false, reason: null });
  });

  test('nvidia-smi timeout: not compared', () => {
    expect(
      compareInventory({ inventoryStatus: 'ok', controllers: [pci('1b:00.0')], nvidiaSmiStatus: 'timeout', gpus: [] }),
    ).toEqual({ nvidiaControllers: 1, mismatch: false, reason: null });
  });
});
