/**
 * The gateway client against a real console (scripts/start.mjs, throwaway SQLite) behind a proxy
 * that can slow it down and counts connections: up (admit, refuse with the reason, refund, lease, release),
 * slow (timeouts, then the fail mode; retries consume once), down (fail open/closed, the breaker
 * keeps the client off the network), restarted (the breaker closes after the cool-down).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, trpc, type TConsoleProcess } from '../../../apps/console/test/support/console-process';
import { CoolantCallError, CoolantUnavailableError, createGateway, type TAdmitDecision, type TGateway } from '../src';
import { startDelayProxy, type TDelayProxy } from './support/proxy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What admission.consume answers, key for key (the compile-time pin is test/wire-types.ts). */
const CONSUME_KEYS = [
  'allowed',
  'configVersion',
  'lease',
  'limit',
  'pauseReason',
  'policies',
  'reason',
  'remaining',
  'resetAt',
  'retryAfterSeconds',
  'ticket',
  'tier',
  'window',
];

function coolant(d: TAdmitDecision) {
  if (d.source !== 'coolant') throw new Error(`expected Coolant's answer, got the fail mode: ${d.message}`);
  return d;
}

describe('@coolant/gateway against a running console', () => {
  let c: TConsoleProcess;
  let proxy: TDelayProxy;
  let gatewayToken: string;
  let viewerToken: string;
  const gateways: TGateway[] = [];
  const gw = (opts: Partial<Parameters<typeof createGateway>[0]> = {}) => {
    const g = createGateway({ url: proxy.url, token: gatewayToken, tiersToken: viewerToken, ...opts });
    gateways.push(g);
    return g;
  };

  beforeAll(async () => {
    c = await startConsole();
    proxy = await startDelayProxy({ host: '127.0.0.1', port: c.port });
    const token = async (role: string) =>
      (await trpc<{ secret: string }>(c.url, 'tokens.create', { name: `gw ${role}`, role }, c.adminToken)).data.secret;
    gatewayToken = await token('gateway');
    viewerToken = await token('viewer');
  });
  afterAll(async () => {
    for (const g of gateways) g.close();
    await proxy?.close();
    await c?.stop();
  });

  it('up: admits, refuses with the reason, replays a requestId, holds/extends/releases a lease', async () => {
    // Generous timeout here: this phase is about answers, not speed, on a shared 2-core machine.
    const g = gw({ timeoutMs: 5000 });
    await g.refreshFailModes();
    expect(g.failModes()).toMatchObject({ free: 'closed', plus: 'open', pro: 'open', team: 'open' });

    const first = coolant(await g.admit({ tier: 'free', subject: 'u-up', requestId: 'up-1' }));
    expect(first).toMatchObject({
      allowed: true,
      reason: 'ok',
      failedOpen: false,
      requestId: 'up-1',
      limit: 3,
      remaining: 2,
    });
    expect(first.ticket).toMatch(/^t1\./);
    const replay = coolant(await g.admit({ tier: 'free', subject: 'u-up', requestId: 'up-1' }));
    expect(replay.ticket).toBe(first.ticket);
    expect(replay.remaining).toBe(2);
    const generated = coolant(await g.admit({ tier: 'free', subject: 'u-up' }));
    expect(generated.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.remaining).toBe(1);
    await g.admit({ tier: 'free', subject: 'u-up' });
    const refused = coolant(await g.admit({ tier: 'free', subject: 'u-up' }));
    expect(refused).toMatchObject({ allowed: false, reason: 'quota_exceeded', remaining: 0, ticket: null });
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(coolant(await g.admit({ tier: 'no-such-tier', subject: 'u-up' })).reason).toBe('unknown_tier');

    // A generation admitted without a lease that failed gives its unit back, once.
    expect(await g.refund({ ticket: first.ticket! })).toEqual({ refunded: true, reason: 'ok' });
    expect(await g.refund({ ticket: first.ticket! })).toEqual({ refunded: false, reason: 'already_refunded' });
    expect(coolant(await g.admit({ tier: 'free', subject: 'u-up' }))).toMatchObject({ allowed: true, remaining: 0 });
    expect(coolant(await g.admit({ tier: 'free', subject: 'u-up' })).reason).toBe('quota_exceeded');

    // The wire types against the real answer, key for key.
    const raw = await trpc<Record<string, unknown>>(
      c.url,
      'admission.consume',
      { tier: 'pro', subject: 'raw' },
      gatewayToken,
    );
    expect(Object.keys(raw.data).sort()).toEqual(CONSUME_KEYS);

    const leased = coolant(await g.admit({ tier: 'pro', subject: 'u-lease', lease: { ttlSeconds: 30 } }));
    expect(leased.allowed).toBe(true);
    const lease = leased.lease!;
    expect(lease.id).toEqual(expect.any(String));
    expect(Date.parse(lease.expiresAt)).toBeGreaterThan(Date.now());
    const beat = await lease.heartbeat(120);
    expect(beat).toMatchObject({ extended: true, reason: 'ok' });
    expect(Date.parse(beat.expiresAt!)).toBeGreaterThan(Date.parse(lease.expiresAt));
    expect(await lease.release('done')).toMatchObject({
      released: true,
      reason: 'ok',
      outcome: 'done',
      refunded: null,
    });
    expect(await g.release({ lease: lease.id, outcome: 'done' })).toMatchObject({
      released: false,
      reason: 'already_released',
    });
    expect(await g.heartbeat({ lease: lease.id })).toMatchObject({ extended: false, reason: 'already_released' });

    // Coolant answering no to the call itself is an error to fix, never covered by the fail mode.
    const bad = await g.admit({ tier: 'free', subject: 'u-up', cost: 0 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CoolantCallError);
    expect((bad as CoolantCallError).code).toBe('BAD_REQUEST');
    expect((bad as Error).message).toMatch(/cost must be at least 1/);
    const unknownLease = await g.release({ lease: 'nope', outcome: 'done' }).catch((e: unknown) => e);
    expect((unknownLease as CoolantCallError).code).toBe('NOT_FOUND');
    const forged = await g.refund({ ticket: 't1.forged' }).catch((e: unknown) => e);
    expect(forged).toBeInstanceOf(CoolantCallError);
    expect((forged as CoolantCallError).code).toBe('BAD_REQUEST');
    expect(g.breakerState()).toBe('closed');

    // A gateway token may call admission.* only: tiers.list needs a viewer token beside it.
    const tokenOnly = gw({ timeoutMs: 5000, tiersToken: undefined });
    const denied = await tokenOnly.refreshFailModes().catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(CoolantCallError);
    expect((denied as CoolantCallError).code).toBe('FORBIDDEN');
    expect((denied as Error).message).toMatch(/Gateway tokens may only call admission/);
  });

  it('slow: each attempt times out, the tier fail mode decides, and the retries consumed once', async () => {
    const g = gw({ timeoutMs: 150, retries: 1, breaker: { failures: 10 } });
    await g.refreshFailModes();
    proxy.setDelay(1500);
    try {
      const t0 = Date.now();
      const free = await g.admit({ tier: 'free', subject: 'u-slow', requestId: 'slow-1' });
      const took = Date.now() - t0;
      expect(free).toMatchObject({
        source: 'fail_mode',
        allowed: false,
        reason: 'coolant_unavailable',
        failedOpen: false,
        failMode: 'closed',
        unavailable: 'timeout',
        requestId: 'slow-1',
      });
      expect(took).toBeLessThan(1000); // two attempts of 150 ms, not the console's 1.5 s
      expect(await g.admit({ tier: 'plus', subject: 'u-slow' })).toMatchObject({
        allowed: true,
        reason: 'coolant_unavailable',
        failedOpen: true,
      });
      // The default per-attempt timeout is 50 ms.
      const t1 = Date.now();
      const byDefault = await gw({ failModes: { plus: 'open' } }).admit({ tier: 'plus', subject: 'u-default' });
      expect(byDefault).toMatchObject({ source: 'fail_mode', unavailable: 'timeout', failedOpen: true });
      expect(byDefault.source === 'fail_mode' && byDefault.message).toMatch(/no answer within 50 ms/);
      expect(Date.now() - t1).toBeLessThan(1000);
    } finally {
      proxy.setDelay(0);
    }
    await sleep(300);
    // Both attempts of slow-1 reached the console with one requestId: one unit consumed, not two.
    const again = coolant(
      await gw({ timeoutMs: 5000 }).admit({ tier: 'free', subject: 'u-slow', requestId: 'slow-1' }),
    );
    expect(again).toMatchObject({ allowed: true, remaining: 2 });
    const next = coolant(await gw({ timeoutMs: 5000 }).admit({ tier: 'free', subject: 'u-slow' }));
    expect(next.remaining).toBe(1);
  });

  describe('down, then restarted', () => {
    let g: TGateway;
    const COOL_DOWN = 1500;

    it('down: fail open / fail closed, then the breaker opens and no call reaches the network', async () => {
      g = gw({ timeoutMs: 1000, retries: 1, breaker: { failures: 3, coolDownMs: COOL_DOWN } });
      await g.refreshFailModes();
      await c.stop();
      proxy.dropAll();

      const plus = await g.admit({ tier: 'plus', subject: 'u-down' });
      expect(plus).toMatchObject({
        allowed: true,
        reason: 'coolant_unavailable',
        failedOpen: true,
        unavailable: 'network',
      });
      const free = await g.admit({ tier: 'free', subject: 'u-down' });
      expect(free).toMatchObject({ allowed: false, reason: 'coolant_unavailable', failedOpen: false });
      expect(g.breakerState()).toBe('open');

      const before = proxy.connections();
      for (let i = 0; i < 5; i++) {
        const d = await g.admit({ tier: i % 2 ? 'free' : 'plus', subject: 'u-down' });
        expect(d).toMatchObject({ source: 'fail_mode', unavailable: 'breaker_open', failedOpen: i % 2 === 0 });
      }
      const unknownTier = await g.admit({ tier: 'never-listed', subject: 'u-down' });
      expect(unknownTier).toMatchObject({
        allowed: false,
        failedOpen: false,
        failMode: 'closed',
        failModeKnown: false,
      });
      const rel = await g.release({ lease: 'l', outcome: 'done' }).catch((e: unknown) => e);
      expect(rel).toBeInstanceOf(CoolantUnavailableError);
      expect((rel as CoolantUnavailableError).kind).toBe('breaker_open');
      expect(proxy.connections()).toBe(before);

      // After the cool-down exactly one probe goes out; it fails and the breaker opens again.
      await sleep(COOL_DOWN + 50);
      expect(g.breakerState()).toBe('half_open');
      const probe = await g.admit({ tier: 'free', subject: 'u-down' });
      expect(probe).toMatchObject({ source: 'fail_mode', unavailable: 'network' });
      expect(proxy.connections()).toBe(before + 1);
      expect(g.breakerState()).toBe('open');
    });

    it('restarted: after the cool-down the probe reaches the console and the breaker closes', async () => {
      const t0 = Date.now();
      c = await startConsole({ port: c.port, dataDir: c.dataDir });
      await sleep(Math.max(0, COOL_DOWN + 50 - (Date.now() - t0)));
      expect(g.breakerState()).toBe('half_open');
      const before = proxy.connections();
      const d = coolant(await g.admit({ tier: 'free', subject: 'u-restarted' }));
      expect(d).toMatchObject({ allowed: true, reason: 'ok' });
      expect(g.breakerState()).toBe('closed');
      expect(proxy.connections()).toBeGreaterThan(before);
      expect(coolant(await g.admit({ tier: 'plus', subject: 'u-restarted' })).allowed).toBe(true);
    });
  });
});
