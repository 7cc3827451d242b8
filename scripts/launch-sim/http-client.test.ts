/**
 * The sim's admin calls to the console end by their deadline: a console that accepts a request and
 * never answers (or stops half-way through the body) must show as a timeout, not as a run that
 * hangs. The gateways' calls go through @coolant/gateway, whose deadlines
 * packages/gateway/test/deadline.test.ts checks against the same two misbehaviours.
 * Run with `npx vitest run scripts/launch-sim/http-client.test.ts`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConsoleClient } from './http-client';
import { capacityView, healthProbe } from './setup';

let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url?.includes('half')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"result":'); // and nothing more
    }
    // Otherwise: never answered.
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

test('a tRPC call the console never answers resolves as TIMEOUT after its deadline', async () => {
  const client = new ConsoleClient(url, 'token', 2, 300);
  const t0 = performance.now();
  const r = await client.call('admission.consume', {});
  client.close();
  expect(r.status).toBe(0);
  expect(r.error).toEqual({ code: 'TIMEOUT', message: 'admission.consume: no answer in 0.3 s' });
  expect(performance.now() - t0).toBeLessThan(2_000);
});

test('a tRPC answer whose body stops half-way resolves as TIMEOUT too', async () => {
  const client = new ConsoleClient(url, 'token', 2, 300);
  const r = await client.call('half.consume', {});
  client.close();
  expect(r.error?.code).toBe('TIMEOUT');
});

test('capacity.get with no answer rejects by its deadline; /api/health says so', async () => {
  await expect(capacityView(url, 'token', 300)).rejects.toThrow(/abort|timeout/i);
  expect(await healthProbe(url, 300)).toMatch(/^\/api\/health no answer \(TimeoutError/);
});
