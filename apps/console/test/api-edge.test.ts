// The edge's header checks on their own (no process): the origin comparison
// behind a reverse proxy, which the process tests cannot reach from 127.0.0.1.
import type { IncomingMessage } from 'node:http';
import { expect, test } from 'vitest';
import { checkApiRequest, DEFAULT_MAX_BODY } from '../server/api-edge';

function req(headers: Record<string, string>, method = 'POST'): IncomingMessage {
  return {
    method,
    headers: { 'content-type': 'application/json', cookie: 'coolant_session=cs_x', ...headers },
  } as unknown as IncomingMessage;
}

const check = (headers: Record<string, string>, trust = false) =>
  checkApiRequest(req(headers), { COOLANT_TRUST_PROXY: trust }, DEFAULT_MAX_BODY)?.code ?? null;

test('Origin is compared with X-Forwarded-Host only when the proxy is trusted, default ports included', () => {
  const proxied = {
    host: '127.0.0.1:3000',
    'x-forwarded-host': 'console.example.com',
    origin: 'https://console.example.com',
  };
  expect(check(proxied, true)).toBeNull();
  expect(check(proxied, false)).toBe('FORBIDDEN');
  expect(check({ host: 'console.example.com:443', origin: 'https://console.example.com' })).toBeNull();
  expect(check({ host: 'Console.Example.com', origin: 'http://console.example.com' })).toBeNull();
  expect(check({ host: 'console.example.com', origin: 'http://console.example.com.evil.test' })).toBe('FORBIDDEN');
});

test('without a session cookie, or with a Bearer token, the origin does not matter; a body declared over the cap is 413 first-hand', () => {
  expect(
    checkApiRequest(
      req({ cookie: '', origin: 'http://evil.test', host: 'a' }),
      { COOLANT_TRUST_PROXY: false },
      DEFAULT_MAX_BODY,
    ),
  ).toBeNull();
  expect(check({ authorization: 'Bearer x', origin: 'http://evil.test', host: 'a' })).toBeNull();
  expect(check({ host: 'a', 'content-length': String(DEFAULT_MAX_BODY + 1) })).toBe('PAYLOAD_TOO_LARGE');
  expect(
    checkApiRequest(
      req({ 'content-type': 'application/x-www-form-urlencoded' }),
      { COOLANT_TRUST_PROXY: false },
      DEFAULT_MAX_BODY,
    )?.code,
  ).toBe('UNSUPPORTED_MEDIA_TYPE');
});
