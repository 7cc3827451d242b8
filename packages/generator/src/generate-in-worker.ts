import { Worker } from 'node:worker_threads';
import type { TGenerateResult, TOnRow } from './generate';
import {
  InvalidGenerateRequestError,
  validateGenerateRequest,
  type TGenerateRequest,
  type TValidationProblem,
} from './validate';

export type TWorkerData = { request: TGenerateRequest };

export type TWorkerMessage =
  | { type: 'row'; y: number; row: Uint8Array }
  | { type: 'done'; result: TGenerateResult }
  | { type: 'error'; name: string; message: string; problems: TValidationProblem[] | undefined };

export type TGenerateInWorkerOptions = {
  /** Called on the calling thread for each row, in order, as the worker draws it. */
  onRow?: TOnRow;
  /** Aborting terminates the worker and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Terminates the worker and rejects with a TimeoutError after this many milliseconds. */
  timeoutMs?: number;
};

/**
 * From TypeScript source the worker needs a loader (see worker-bootstrap.mjs); a compiled
 * build has worker.js next to this file.
 */
function workerEntry(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('./worker-bootstrap.mjs', import.meta.url)
    : new URL('./worker.js', import.meta.url);
}

/**
 * generate() on a worker thread, so the event loop stays free while the picture is drawn.
 * Produces exactly the pixels generate() would: same code, same integer arithmetic.
 */
export function generateInWorker(
  request: TGenerateRequest,
  options: TGenerateInWorkerOptions = {},
): Promise<TGenerateResult> {
  const problems = validateGenerateRequest(request);
  if (problems.length > 0) return Promise.reject(new InvalidGenerateRequestError(problems));
  const { onRow, signal, timeoutMs } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);

  return new Promise<TGenerateResult>((resolve, reject) => {
    const worker = new Worker(workerEntry(), { workerData: { request } satisfies TWorkerData });
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const stop = (reason: unknown) => {
      finish(() => reject(reason));
      void worker.terminate();
    };
    const onAbort = () => stop(signal?.reason ?? new DOMException('generation aborted', 'AbortError'));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => stop(new DOMException(`generation took longer than ${timeoutMs} ms`, 'TimeoutError')),
        timeoutMs,
      );
    }

    worker.on('message', (message: TWorkerMessage) => {
      if (settled) return;
      if (message.type === 'row') {
        try {
          onRow?.(message.y, message.row);
        } catch (error) {
          // A failing consumer ends the generation rather than leaving the worker running.
          stop(error);
        }
      } else if (message.type === 'done') {
        finish(() => resolve(message.result));
        // The result is in; do not wait for the thread (and tsx's loader in it) to wind down.
        void worker.terminate();
      } else {
        const error = message.problems
          ? new InvalidGenerateRequestError(message.problems)
          : Object.assign(new Error(message.message), { name: message.name });
        finish(() => reject(error));
      }
    });
    worker.on('error', (error) => finish(() => reject(error)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`generator worker exited with code ${code} before finishing`))),
    );
  });
}
