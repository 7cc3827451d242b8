/**
 * How the sender treats each answer of the console: which failures are retried as they are, which
 * split the batch, which stop the agent (with the samples kept), so that none is retried unchanged
 * forever.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Spool, type TCollectedSample } from '@coolant/telemetry';
import { TRPCClientError } from '@trpc/client';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { HttpStatusError } from '../src/api-client';
import { classifyReportFailure, NotRetryableError, SpoolSender } from '../src/deliver';

const trpcError = (code: string, httpStatus: number, issues?: { path: string; message: string }[]) =>
  TRPCClientError.from({ error: { message: `${code} happened`, code: -32000, data: { code, httpStatus, issues } } });

describe('classifyReportFailure', () => {
  test.each([
    ['a 503', trpcError('SERVICE_UNAVAILABLE', 503), 'retry'],
    ['a 429', trpcError('TOO_MANY_REQUESTS', 429), 'retry'],
    ['a 409 (raced with itself)', trpcError('CONFLICT', 409), 'retry'],
    ['a 408 from a proxy', new TRPCClientError('x', { cause: new HttpStatusError(408, 'HTTP 408') }), 'retry'],
    [
      'a network failure',
      new TRPCClientError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      }),
      'retry',
    ],
    ['a 413', trpcError('PAYLOAD_TOO_LARGE', 413), 'too-large'],
    [
      "nginx's 413 page",
      new TRPCClientError('x', { cause: new HttpStatusError(413, 'HTTP 413: Request Entity Too Large') }),
      'too-large',
    ],
    [
      'a reset connection',
      new TRPCClientError('fetch failed', {
        cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
      }),
      'too-large',
    ],
    [
      'a 400 about a sample',
      trpcError('BAD_REQUEST', 400, [{ path: 'samples.3.gpus', message: 'duplicate GPU index 2' }]),
      'refused',
    ],
    [
      'a 400 about the request',
      trpcError('BAD_REQUEST', 400, [{ path: 'intervalSeconds', message: 'too big' }]),
      'fatal',
    ],
    ['a 401', trpcError('UNAUTHORIZED', 401), 'fatal'],
    ['a 403', trpcError('FORBIDDEN', 403), 'fatal'],
    ['a 404', trpcError('NOT_FOUND', 404), 'fatal'],
    ['a 415 from a proxy', new TRPCClientError('x', { cause: new HttpStatusError(415, 'HTTP 415') }), 'fatal'],
  ])('%s: %s', (_name, error, kind) => {
    expect(classifyReportFailure(error).kind).toBe(kind);
  });
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'coolant-deliver-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const sample = (i: number): TCollectedSample => ({
  collectedAt: new Date(Date.UTC(2026, 10, 27, 21, 0, i)).toISOString(),
  host: { hostname: 'h', cpuLoadPercent: null, memUsedBytes: null, memTotalBytes: null, os: null, gpuInventory: null },
  gpus: [],
  health: {
    durationMs: 1,
    errors: [],
    gpuCount: 0,
    nvidiaSmi: { status: 'missing', exitCode: null, message: null, queriedFields: [], unsupportedFields: [] },
    hostMetrics: { status: 'ok', message: null },
    inventory: { status: 'no-lspci', nvidiaControllers: null, message: null },
    timeouts: [],
    inventoryMismatch: false,
    inventoryMismatchReason: null,
  },
});

test('a request the console will never take stops the sender after one try, and every sample stays spooled', async () => {
  const spool = await Spool.open({ dir, durable: false });
  await spool.reconcile(0);
  for (let i = 1; i <= 5; i++) await spool.append(sample(i));
  let calls = 0;
  const sender = new SpoolSender(
    spool,
    async () => {
      calls++;
      throw trpcError('FORBIDDEN', 403);
    },
    { info() {}, warn() {}, error() {} },
    { delivered: 0, quarantined: 0 },
  );
  await expect(sender.drain()).rejects.toBeInstanceOf(NotRetryableError);
  expect(calls).toBe(1);
  expect(spool.stats()).toMatchObject({ records: 5, quarantined: 0 });
  await spool.close();
});
