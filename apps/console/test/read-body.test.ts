// readBody (server/api-edge.ts) on a real node:http server and socket: a body in one chunk is decoded
// where it lies, a body in several chunks is joined before decoding, so a UTF-8 character split
// between two TCP writes comes out whole; a chunked body over the cap is refused.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readBody } from '../server/api-edge';

let server: Server;
let port = 0;
const MAX = 64;

beforeAll(async () => {
  server = createServer((req, res) => {
    readBody(req, MAX).then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text),
      (error: Error) => res.writeHead(413).end(error.message),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** POSTs the parts as separate writes (chunked), a pause between them so each arrives on its own. */
function post(parts: Buffer[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
      const got: Buffer[] = [];
      res.on('data', (c: Buffer) => got.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(got).toString('utf8') }));
    });
    req.on('error', reject);
    void (async () => {
      for (const p of parts) {
        req.write(p);
        await new Promise((r) => setTimeout(r, 30));
      }
      req.end();
    })();
  });
}

test('one chunk and several chunks decode the same, a UTF-8 character split between writes included', async () => {
  const text = '{"subject":"Jürgen-ß-猫"}';
  const bytes = Buffer.from(text, 'utf8');
  const cut = bytes.indexOf(Buffer.from('ü', 'utf8')) + 1; // inside the two bytes of ü
  expect(await post([bytes])).toEqual({ status: 200, text });
  const split = await post([bytes.subarray(0, cut), bytes.subarray(cut, cut + 14), bytes.subarray(cut + 14)]);
  expect(split).toEqual({ status: 200, text });
});

test('a chunked body past the cap is refused', async () => {
  const r = await post([Buffer.alloc(40, 'a'), Buffer.alloc(40, 'b')]);
  expect(r.status).toBe(413);
});
