/**
 * Messages between the collector and its systeminformation worker (si-worker.ts), over the
 * child's IPC channel. Host metrics and the inventory travel separately so the host metrics
 * survive when graphics() hangs in nvidia-smi and the worker has to be killed.
 */
import type { THostOs, TPciGpu } from './schema.ts';

export type TWorkerRequest = { type: 'collect'; id: number };

export type TWorkerHostMetrics = {
  cpuLoadPercent: number | null;
  memUsedBytes: number | null;
  memTotalBytes: number | null;
  os: THostOs | null;
};

export type TWorkerMessage =
  | { type: 'host'; id: number; ok: true; host: TWorkerHostMetrics }
  | { type: 'host'; id: number; ok: false; error: string }
  | { type: 'inventory'; id: number; status: 'ok'; controllers: TPciGpu[] }
  | { type: 'inventory'; id: number; status: 'no-lspci'; searchedPath: string }
  | { type: 'inventory'; id: number; status: 'failed'; error: string };
