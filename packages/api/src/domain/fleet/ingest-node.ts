/**
 * What every ingest path decides about a report before writing anything, the same way on both
 * databases and in batches: the node row it is counted against, which samples are new, whether
 * the collector is failing, and the errors a report can get (said without database internals).
 */
import type { TTelemetrySample } from '@coolant/telemetry/schema';
import { AppError } from '../../lib/app-error';

export type TNodeRow = { lastSeq: number; collectorFailures: number; revoked: boolean };

/**
 * A collector that cannot do its job: nvidia-smi or a systeminformation part
 * failed or timed out. A host with no nvidia-smi at all is not failing (it has
 * no NVIDIA GPU to report), so `missing` does not count.
 */
export function healthFailing(s: Pick<TTelemetrySample, 'health'>): boolean {
  const h = s.health;
  return (
    h.nvidiaSmi.status === 'failed' ||
    h.nvidiaSmi.status === 'timeout' ||
    h.hostMetrics.status !== 'ok' ||
    h.inventory.status === 'failed' ||
    h.inventory.status === 'timeout'
  );
}

/** Which GPU slot a reading belongs to: nvidia-smi's index, else its position in the report. */
export function gpuIndexOf(req: { gpu: TTelemetrySample['gpus'][number]; position: number }): number {
  return req.gpu.index ?? req.position;
}

/** The conditional node update found another lastSeq: another delivery of this node's report won. */
export class DuplicateRace extends Error {}

export const REVOKED_MESSAGE = 'This node token has been revoked';
export const GONE_MESSAGE = 'this node no longer exists';

export function readNode(r: Record<string, unknown> | undefined): TNodeRow {
  if (!r) throw new AppError('NOT_FOUND', GONE_MESSAGE);
  return { lastSeq: Number(r.lastSeq), collectorFailures: Number(r.collectorFailures), revoked: r.revokedAt !== null };
}

/** The report's samples oldest first. */
export function sortedSamples(samples: TTelemetrySample[]): TTelemetrySample[] {
  return [...samples].sort((a, b) => a.seq - b.seq);
}

/** The samples not stored yet (above the node's lastSeq, each seq once); throws for a revoked node. */
export function freshSamples(req: { sorted: TTelemetrySample[]; node: TNodeRow }): TTelemetrySample[] {
  const { sorted, node } = req;
  if (node.revoked) throw new AppError('UNAUTHORIZED', REVOKED_MESSAGE);
  return sorted.filter((s, i) => s.seq > node.lastSeq && (i === 0 || s.seq !== sorted[i - 1]!.seq));
}

/** A domain error as it is; anything else is the database failing, said without its internals. */
export function asIngestError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('UNAVAILABLE', 'database unavailable: the report was not stored; send it again', {
    cause: String((error as Error).message ?? error),
  });
}
