/**
 * Messages between the collector and its short-lived inventory child (si-worker.ts), over the
 * child's IPC channel. The child answers one request and exits; the collector kills it (group and
 * all) when it has not answered by the cycle's deadline.
 */
import type { TPciGpu } from './schema.ts';

export type TWorkerRequest = { type: 'inventory'; id: number };

export type TWorkerMessage =
  | { type: 'inventory'; id: number; status: 'ok'; controllers: TPciGpu[] }
  | { type: 'inventory'; id: number; status: 'failed'; error: string };
