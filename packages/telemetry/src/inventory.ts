import type { TGpuSample, TInventoryStatus, TNvidiaSmiStatus, TPciGpu } from './schema.ts';

export type TInventoryComparison = {
  nvidiaControllers: number | null;
  mismatch: boolean;
  reason: string | null;
};

/**
 * Compares what lspci (through systeminformation) and nvidia-smi each say about the NVIDIA GPUs.
 * A disagreement is the interesting signal: a GPU that fell off the bus is still on PCI but gone
 * from nvidia-smi; a host without lspci makes systeminformation report no GPU at all.
 * Nothing is compared when either side has no answer (timeout, or inventory failure).
 */
export function compareInventory(input: {
  inventoryStatus: TInventoryStatus;
  controllers: TPciGpu[] | null;
  nvidiaSmiStatus: TNvidiaSmiStatus;
  gpus: TGpuSample[];
}): TInventoryComparison {
  const nvidia = input.controllers?.filter((c) => /nvidia/i.test(c.vendor ?? '')) ?? null;
  const nvidiaControllers = nvidia?.length ?? null;
  const none = { nvidiaControllers, mismatch: false, reason: null };
  // 'missing' and 'failed' are answers ("the driver tooling sees nothing"); a timeout is not.
  if (input.nvidiaSmiStatus === 'timeout') return none;
  const smiCount = input.gpus.length;
  const smiSays =
    input.nvidiaSmiStatus === 'ok'
      ? `nvidia-smi reports ${plural(smiCount, 'GPU')}`
      : `nvidia-smi ${input.nvidiaSmiStatus === 'missing' ? 'is missing' : 'failed'} and reports ${plural(smiCount, 'GPU')}`;

  if (input.inventoryStatus === 'no-lspci') {
    if (smiCount === 0) return none;
    return {
      nvidiaControllers,
      mismatch: true,
      reason: `systeminformation lists no NVIDIA controller because lspci is not on PATH, while ${smiSays}`,
    };
  }
  if (input.inventoryStatus !== 'ok' || !nvidia) return none;

  const pciBuses = nvidia.map((c) => shortBus(c.busAddress));
  const smiBuses = input.gpus.map((g) => shortBus(g.pciBusId));
  const onlyPci = pciBuses.filter((bus) => bus !== null && !smiBuses.includes(bus));
  const onlySmi = smiBuses.filter((bus) => bus !== null && !pciBuses.includes(bus));
  if (nvidia.length === smiCount && onlyPci.length === 0 && onlySmi.length === 0) return none;

  const details = [
    onlyPci.length ? `on PCI but not in nvidia-smi: ${onlyPci.join(', ')}` : null,
    onlySmi.length ? `in nvidia-smi but not on PCI: ${onlySmi.join(', ')}` : null,
  ].filter(Boolean);
  return {
    nvidiaControllers,
    mismatch: true,
    reason: `lspci lists ${plural(nvidia.length, 'NVIDIA controller')}, ${smiSays}${details.length ? ` (${details.join('; ')})` : ''}`,
  };
}

/**
 * lspci prints `00:09.0`, nvidia-smi `00000000:00:09.0`; compare on bus:device.function.
 * (Hosts with several PCI domains could collide here; none of the fleet's do.)
 */
function shortBus(address: string | null): string | null {
  return /([0-9a-f]{2}:[0-9a-f]{2}\.[0-7])$/i.exec(address ?? '')?.[1]?.toLowerCase() ?? null;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
