/**
 * Worker-thread side of generateInWorker(): draws one picture and posts each row as soon
 * as it is drawn, then the result. Runs synchronously; the parent cancels by terminating.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { generate } from './generate';
import type { TWorkerMessage, TWorkerData } from './generate-in-worker';
import { InvalidGenerateRequestError } from './validate';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const post = (message: TWorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

const { request } = workerData as TWorkerData;
try {
  // Rows and pixels are fresh buffers the worker never touches again, so they are moved, not copied.
  const result = generate(request, (y, row) => post({ type: 'row', y, row }, [row.buffer as ArrayBuffer]));
  post({ type: 'done', result }, [result.pixels.buffer as ArrayBuffer]);
} catch (error) {
  post({
    type: 'error',
    name: error instanceof Error ? error.name : 'Error',
    message: error instanceof Error ? error.message : String(error),
    problems: error instanceof InvalidGenerateRequestError ? error.problems : undefined,
  });
}
