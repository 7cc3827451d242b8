/**
 * Whether a GPU we knew about is still there, judged the same way by the
 * alert evaluator (gpu_missing) and by the fleet views (the `missing` flag).
 *
 * A GPU is missing only when nvidia-smi gave an answer that lists other GPUs
 * without it, or lists none while the PCI inventory still sees NVIDIA
 * controllers. A collection that timed out or failed without listing any GPU
 * says nothing about the GPUs: that is the collector_failing alert, and the
 * GPU's presence is unknown until the next real answer.
 */
import { readStoredHealth } from './stored-telemetry';

export type TGpuPresence = 'present' | 'missing' | 'unknown';

/** The parts of Node.health (the latest report's collector health, JSON) this needs. */
export type TPresenceHealth = {
  nvidiaSmi?: { status?: string };
  inventory?: { nvidiaControllers?: number | null };
} | null;

export type TGpuPresenceRequest = {
  node: { lastSampleAt: Date | null; gpuCount: number; health: TPresenceHealth };
  gpu: { sampledAt: Date };
};

export function gpuPresence(req: TGpuPresenceRequest): TGpuPresence {
  const { node, gpu } = req;
  // GpuState.sampledAt and Node.lastSampleAt are written together from the latest sample that
  // listed GPUs; equal means this GPU was in the latest report.
  if (node.lastSampleAt === null || gpu.sampledAt.getTime() >= node.lastSampleAt.getTime()) return 'present';
  const status = node.health?.nvidiaSmi?.status;
  // Node.gpuCount is the number of GPUs in the latest report. nvidia-smi exits non-zero when one
  // GPU is lost but still prints the others: a listing either way.
  if (node.gpuCount > 0) return status === 'ok' || status === 'failed' ? 'missing' : 'unknown';
  if (status === 'ok' && (node.health?.inventory?.nvidiaControllers ?? 0) > 0) return 'missing';
  return 'unknown';
}

/**
 * Node.health read through the telemetry schema; an unreadable row is null, so the GPUs' presence
 * is unknown (never "missing" on a guess). The fleet views also name the problem (stored-telemetry.ts).
 */
export function parseHealth(json: string | null): TPresenceHealth {
  return readStoredHealth({ json }).value;
}
