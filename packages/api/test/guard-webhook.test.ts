/**
 * The guard's webhook POST on real receivers: signed, retried on a failure, and as careful as the
 * notifications' (it is their POST): a redirect is not followed, so the signed body never reaches
 * the host a 307 names, and what is logged names no more of the URL than its origin.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sendWebhook, signWebhook, type TWebhookPayload } from '../src/domain/guard/webhook';
import { receiver, type TReceiver } from './notification-receivers';

const payload: TWebhookPayload = {
  id: 'evt-1',
  text: 'guard tripped',
  event: 'trip',
  rule: 'hot',
  step: 1,
  tier: 'free',
  dryRun: false,
  signal: { hotShare: 0.9 },
  guardConfigVersion: 3,
  at: '2026-12-02T07:00:00.000Z',
};
const secret = 'guard-hook-secret-1234';
let open: TReceiver[] = [];

/** A receiver that counts every request it gets, whatever it answers. */
async function recv(): Promise<TReceiver & { tries: () => number }> {
  const r = await receiver();
  open.push(r);
  let tries = 0;
  r.onRequest = () => void tries++;
  return Object.assign(r, { tries: () => tries });
}

/** sendWebhook with short delays, its log collected. */
async function send(url: string, attempts: number) {
  const log: string[] = [];
  const out = await sendWebhook({ hook: { url, secret }, payload, attempts, baseDelayMs: 1, log: (m) => log.push(m) });
  return { out, log };
}

afterEach(async () => {
  await Promise.all(open.map((r) => r.close()));
  open = [];
});

describe('guard webhook', () => {
  it('posts the payload signed over timestamp and body, with the event header', async () => {
    const r = await recv();
    const out = await sendWebhook({ hook: { url: r.url, secret }, payload, baseDelayMs: 1 });
    expect(out).toEqual({ ok: true, attempts: 1, status: 200 });
    const got = r.got[0]!;
    expect(JSON.parse(got.body)).toEqual(payload);
    const ts = String(got.headers['x-coolant-timestamp']);
    expect(got.headers['x-coolant-signature']).toBe(signWebhook({ secret, timestamp: ts, body: got.body }));
    expect(got.headers['x-coolant-event']).toBe('trip');
  });

  it('retries a failing receiver with doubling delays and gives up after the attempts, logging each', async () => {
    const r = await recv();
    r.answer = { status: 503, body: 'overloaded' };
    const { out, log } = await send(r.url, 3);
    expect(out).toEqual({ ok: false, attempts: 3, status: 503 });
    expect(r.tries()).toBe(3);
    expect(log[0]).toContain('attempt 1 failed: HTTP 503: overloaded');
    expect(log.at(-1)).toContain('gave up after 3 attempts (last status 503)');
  });

  it('does not follow a redirect: the other host never gets the signed body, and the log says why', async () => {
    const r = await recv();
    const other = await recv();
    r.answer = { redirect: `${other.url}?token=do-not-log` };
    const { out, log } = await send(r.url, 2);
    // Not retried: a redirect answers the same way every time.
    expect(out).toEqual({ ok: false, attempts: 1, status: 307 });
    expect(other.tries()).toBe(0);
    expect(log[0]).toContain('not followed');
    expect(log.join('\n')).not.toContain('do-not-log');
  });

  it('a URL with user:password is not posted and the password is not logged', async () => {
    const r = await recv();
    const url = r.url.replace('http://', 'http://user:hunter2@');
    const { out, log } = await send(url, 3);
    expect(out).toEqual({ ok: false, attempts: 0, status: null });
    expect(r.tries()).toBe(0);
    expect(log).toEqual([expect.stringContaining('guard.update')]);
    expect(log.join('\n')).not.toContain('hunter2');
  });
});
