/**
 * The simulated gateways obey the gateway client's fail-mode decision when the console does not
 * answer in time, as a real gateway does, and the table's counts say so: a closed tier's request
 * is refused (coolant_unavailable) and given up at once, an open tier's is generated without a
 * lease and nothing is released for it. Run with `npx vitest run scripts/launch-sim`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway } from '@coolant/gateway';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Gateways } from './gateways';
import { DEFAULT_GPU_MODEL, GpuFleet } from './gpu-fleet';

let server: http.Server;
let url: string;
let requests = 0;

beforeAll(async () => {
  // A console that accepts every call and never answers.
  server = http.createServer(() => void requests++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

test('no answer in time: free (closed) is refused and given up, plus (open) is generated without a lease', async () => {
  const gateway = createGateway({
    url,
    token: 'token',
    timeoutMs: 200,
    retries: 0,
    failModes: { plus: 'open' },
    failModeRefreshMs: 0,
  });
  const fleet = new GpuFleet(DEFAULT_GPU_MODEL, 2, 1, 7);
  const gateways = new Gateways(gateway, fleet, {
    leases: true,
    ttlSeconds: 30,
    maxAttempts: 3,
    maxWaitSeconds: 15,
    clock: () => 0,
    lossAt: 100,
    seed: 7,
  });
  gateways.submit({ id: 1, at: 0, tier: 'free', subject: 'u-free', work: 1 });
  gateways.submit({ id: 2, at: 0, tier: 'plus', subject: 'u-plus', work: 1 });
  // Run the GPUs until plus's generation has ended (its decision first takes the 200 ms timeout).
  const deadline = Date.now() + 5_000;
  while (gateways.pending() > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    fleet.tick(0.25);
  }
  gateway.close();
  expect(gateways.pending()).toBe(0);
  expect(requests).toBe(2);
  expect(gateways.counts.free).toMatchObject({
    requests: 1,
    admitted: 0,
    refused: { coolant_unavailable: 1 },
    failedClosed: 1,
    failedOpen: 0,
    gaveUp: 1,
    errors: { UNAVAILABLE_TIMEOUT: 1 },
  });
  expect(gateways.counts.plus).toMatchObject({
    requests: 1,
    admitted: 1,
    done: 1,
    refused: {},
    failedOpen: 1,
    gaveUp: 0,
    errors: { UNAVAILABLE_TIMEOUT: 1 },
  });
  // Admitted by the fail mode, so no lease to release (and no release call went out).
  expect(gateways.leases).toEqual({ granted: 0, released: 0, missing: 1, releaseErrors: {} });
  expect(gateways.decisions).toBe(2);
  expect(gateways.firstError).toMatch(/^UNAVAILABLE_TIMEOUT: admission\.consume: no answer within 200 ms$/);
});
