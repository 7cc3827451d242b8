/**
 * Every call ends by its deadline, however the server misbehaves: one that accepts the request and
 * never answers, and one that sends the headers and stops half-way through the body (the abort must
 * reach the body's stream, not only the request). The launch simulation's gateways rely on this: a
 * stuck console shows as fail-mode decisions in its table, not as a run that hangs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CoolantUnavailableError, createGateway } from '../src';

let server: http.Server;
let url: string;
let requests = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests++;
    if (req.url?.includes('admission.release')) return; // never answered
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"result":{"data":{"allowed":'); // and nothing more
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

test('an answer that stops half-way through its body ends at the deadline: the fail mode decides', async () => {
  const g = createGateway({
    url,
    token: 'token',
    timeoutMs: 300,
    retries: 0,
    failModes: { plus: 'open' },
    failModeRefreshMs: 0,
  });
  const before = requests;
  const t0 = performance.now();
  const d = await g.admit({ tier: 'plus', subject: 'u' });
  expect(performance.now() - t0).toBeLessThan(2_000);
  expect(d).toMatchObject({
    source: 'fail_mode',
    allowed: true,
    failedOpen: true,
    reason: 'coolant_unavailable',
    unavailable: 'timeout',
  });
  expect(d.source === 'fail_mode' && d.message).toBe('admission.consume: no answer within 300 ms');
  expect(requests - before).toBe(1);
  g.close();
});

test('a call the server never answers throws CoolantUnavailableError (timeout) after each attempt', async () => {
  const g = createGateway({ url, token: 'token', timeoutMs: 300, retries: 1, failModeRefreshMs: 0 });
  const before = requests;
  const t0 = performance.now();
  const e = await g.release({ lease: 'l1', outcome: 'done' }).catch((x: unknown) => x);
  const took = performance.now() - t0;
  expect(e).toBeInstanceOf(CoolantUnavailableError);
  expect((e as CoolantUnavailableError).kind).toBe('timeout');
  // Two attempts of 300 ms, then done.
  expect(took).toBeGreaterThanOrEqual(550);
  expect(took).toBeLessThan(2_500);
  expect(requests - before).toBe(2);
  g.close();
});
