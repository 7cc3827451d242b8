// The console's HTTP edge against a real console process: what an anonymous
// or cross-site sender can make it do (body caps, content type, origin) and
// what a stale session cookie must not stop (signing in again).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, postRaw } from './support/api';
import { startConsole, type TConsoleProcess } from './support/console-process';
import { serverRssKb, streamUpload, type TUploadAnswer } from './support/upload';

const ENROLL = 'edge-test-enroll-secret-0123';
const MB = 1024 * 1024;

let c: TConsoleProcess;

beforeAll(async () => {
  c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL } });
  // Warm the paths measured below (first-call module loading and JIT are not the upload's cost).
  for (const path of ['auth.login', 'auth.login,agent.enroll?batch=1', 'agent.enroll']) {
    for (let i = 0; i < 3; i++) await streamUpload(`${c.url}/api/trpc/${path}`, 2 * MB);
  }
  await new Promise((r) => setTimeout(r, 2_500));
});

afterAll(async () => {
  await c?.stop();
});

function errorCode(answer: { body: string } | { json: unknown }): string | undefined {
  const json = 'body' in answer ? (JSON.parse(answer.body) as unknown) : answer.json;
  return (json as { error?: { data?: { code?: string } } }).error?.data?.code;
}

/** Polls /api/health for as long as `during` runs: how many answers, and any that was not a 200. */
async function healthDuring<T>(during: Promise<T>): Promise<{ result: T; answered: number; failures: string[] }> {
  let done = false;
  let answered = 0;
  const failures: string[] = [];
  const poll = (async () => {
    while (!done) {
      try {
        const r = await fetch(`${c.url}/api/health`, { signal: AbortSignal.timeout(5_000) });
        if (r.status === 200) answered++;
        else failures.push(`HTTP ${r.status}`);
      } catch (error) {
        failures.push(String((error as Error).message));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    return { result: await during, answered, failures };
  } finally {
    done = true;
    await poll;
  }
}

describe('request bodies are capped before they are read', () => {
  const uploads: [string, string, Record<string, string>][] = [
    ['auth.login, Content-Length 200 MB', 'auth.login', { 'content-length': String(200 * MB) }],
    ['auth.login, chunked', 'auth.login', {}],
    ['a batch URL (skips the fast path)', 'auth.login,agent.enroll?batch=1', {}],
    ['agent.enroll', 'agent.enroll', {}],
  ];

  for (const [name, path, headers] of uploads) {
    test(`200 MB anonymous upload to ${name}: 413 PAYLOAD_TOO_LARGE, little memory, /api/health answers throughout`, async () => {
      const before = serverRssKb(c.child.pid!);
      // Health is polled past the answer, over the console's lingering close, until anything buffered would show in RSS.
      const upload = streamUpload(`${c.url}/api/trpc/${path}`, 200 * MB, headers).then(async (answer) => {
        await new Promise((r) => setTimeout(r, 2_500));
        return answer;
      });
      const { result, answered, failures } = await healthDuring(upload);
      const growthMb = (serverRssKb(c.child.pid!) - before) / 1024;
      console.log(
        `[edge] ${name}: HTTP ${result.status} after ${result.answeredAfterMs} ms and ${(result.sentBytes / MB).toFixed(1)} MB sent; RSS ${(before / 1024).toFixed(0)} MB, growth ${growthMb.toFixed(1)} MB; /api/health answered ${answered}×`,
      );
      expect(result.status).toBe(413);
      expect(errorCode(result)).toBe('PAYLOAD_TOO_LARGE');
      expect(result.headers.connection).toBe('close');
      // The answer came while most of the upload was still unsent: the console did not wait for it.
      expect(result.sentBytes).toBeLessThan(64 * MB);
      expect(growthMb).toBeLessThan(50);
      expect(failures).toEqual([]);
      expect(answered).toBeGreaterThan(0);
      expect((await fetch(`${c.url}/api/health`)).status).toBe(200);
    });
  }

  test('the fast path answers an over-cap body with a 413 (not a reset), for an authenticated caller too', async () => {
    const r = await streamUpload(`${c.url}/api/trpc/admission.consume`, 200 * MB, {
      authorization: `Bearer ${c.adminToken}`,
    });
    expect(r.status).toBe(413);
    expect(errorCode(r)).toBe('PAYLOAD_TOO_LARGE');
  });

  test('agent.report checks the node token before reading its body: anonymous 401 unread, a node over 8 MiB 413 in tRPC shape, a node under it is read', async () => {
    const anonymous: TUploadAnswer = await streamUpload(`${c.url}/api/trpc/agent.report`, 6 * MB, {
      'content-length': String(6 * MB),
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.connection).toBe('close');

    const { nodeToken } = await call<{ nodeToken: string }>(
      c.url,
      'agent.enroll',
      { enrollToken: ENROLL, hostname: 'edge-node' },
      '',
    );
    const over = await streamUpload(`${c.url}/api/trpc/agent.report`, 9 * MB, { authorization: `Bearer ${nodeToken}` });
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body)).toMatchObject({
      error: { data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413, path: 'agent.report' } },
    });

    // 2 MiB of spaces is over the 1 MiB default but within agent.report's own cap: read (all of it), then refused as JSON.
    const under = await streamUpload(`${c.url}/api/trpc/agent.report`, 2 * MB, {
      authorization: `Bearer ${nodeToken}`,
      'content-length': String(2 * MB),
    });
    expect(under.status).toBe(400);
    expect(errorCode(under)).toBe('PARSE_ERROR');
    // A body that arrived whole while the token was being checked is still read.
    const small = await postRaw(c.url, 'agent.report', JSON.stringify({ samples: 'not a list' }), nodeToken);
    expect(small.status).toBe(400);
    expect(JSON.stringify(small.json)).toMatch(/samples/);
  });
});

describe('a stale session cookie', () => {
  const stale = 'coolant_session=cs_made_up_or_deleted_session_0123456789';

  test('does not stop auth.login or auth.logout, and is expired; a protected procedure still answers 401', async () => {
    const headers = { 'content-type': 'application/json', cookie: stale };
    const login = await fetch(`${c.url}/api/trpc/auth.login`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ username: 'admin', password: 'test-admin-password' }),
    });
    expect(login.status).toBe(200);
    const setCookies = login.headers.getSetCookie();
    expect(setCookies.at(-1)).toMatch(/^coolant_session=cs_[^;]+;.*Max-Age=[1-9]/);

    const logout = await fetch(`${c.url}/api/trpc/auth.logout`, { method: 'POST', headers, body: '{}' });
    expect(logout.status).toBe(200);
    expect(logout.headers.getSetCookie()).toEqual([expect.stringMatching(/^coolant_session=;.*Max-Age=0/)]);

    const me = await fetch(`${c.url}/api/trpc/auth.me`, { headers: { cookie: stale } });
    expect(me.status).toBe(200);

    const protectedCall = await fetch(`${c.url}/api/trpc/fleet.list`, { headers: { cookie: stale } });
    expect(protectedCall.status).toBe(401);
    expect(((await protectedCall.json()) as { error: { message: string } }).error.message).toMatch(
      /session has expired/,
    );
  });

  test('a bad Bearer token on a public procedure is still a 401', async () => {
    const r = await postRaw(c.url, 'auth.login', JSON.stringify({ username: 'admin', password: 'x' }), 'not-a-token');
    expect(r.status).toBe(401);
  });
});

describe('POSTs are JSON and cookie-authenticated calls come from the console itself', () => {
  let cookie: string;

  beforeAll(async () => {
    const login = await fetch(`${c.url}/api/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'test-admin-password' }),
    });
    cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
  });

  async function post(
    path: string,
    headers: Record<string, string>,
    body = JSON.stringify({ tier: 'free', subject: 'csrf' }),
  ) {
    const r = await fetch(`${c.url}/api/trpc/${path}`, { method: 'POST', headers, body });
    return {
      status: r.status,
      json: (await r.json()) as { result?: { data: unknown }; error?: { message: string; data: { code: string } } },
    };
  }

  test('text/plain (a form or a "simple" fetch from another site) is 415 on the fast path and on the adapter, with the cookie or a token', async () => {
    for (const path of ['admission.consume', 'tiers.pause', 'auth.login']) {
      const r = await post(path, { 'content-type': 'text/plain', cookie });
      expect(r.status, path).toBe(415);
      expect(r.json.error?.data.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(r.json.error?.message).toMatch(/application\/json/);
    }
    expect(
      (await post('admission.consume', { 'content-type': 'text/plain', authorization: `Bearer ${c.adminToken}` }))
        .status,
    ).toBe(415);
  });

  test('another Origin (or Sec-Fetch-Site cross-site) with the session cookie is 403; the same origin, no Origin at all, or a Bearer token pass', async () => {
    const json = { 'content-type': 'application/json' };
    for (const path of ['admission.consume', 'tiers.pause']) {
      const r = await post(
        path,
        { ...json, cookie, origin: 'http://127.0.0.2:1234' },
        path === 'tiers.pause' ? JSON.stringify({ reason: 'csrf' }) : undefined,
      );
      expect(r.status, path).toBe(403);
      expect(r.json.error?.message).toMatch(/cross-origin request refused/);
    }
    expect((await post('admission.consume', { ...json, cookie, origin: 'null' })).status).toBe(403);
    expect((await post('admission.consume', { ...json, cookie, 'sec-fetch-site': 'same-site' })).status).toBe(403);

    expect((await post('admission.consume', { ...json, cookie, origin: c.url })).status).toBe(200);
    expect((await post('admission.consume', { ...json, cookie, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect((await post('admission.consume', { ...json, cookie })).status).toBe(200);
    expect(
      (
        await post('admission.consume', {
          ...json,
          authorization: `Bearer ${c.adminToken}`,
          origin: 'http://127.0.0.2:1234',
        })
      ).status,
    ).toBe(200);
  });
});
