// Sign-in throttling per (username, IP) with backoff, counted atomically in LoginThrottle, against
// real SQLite and PostgreSQL: a guesser spends its own budget and never locks the owner out.
import { TRPCError } from '@trpc/server';
import { createPrismaClient } from '@coolant/db';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login } from '../src/domain/auth/login';
import {
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  backoffMs,
  FREE_FAILURES_PER_USER_IP,
  LOGIN_WINDOW_MS,
  pruneLoginThrottle,
  USER_SLOW_MAX_MS,
  userIpKey,
  userKey,
} from '../src/domain/auth/login-throttle';
import { makeCheapUser } from './cheap-user';
import { createHarness, type THarness } from './harness';

type TOutcome = { code: string | null; retryAfterSeconds?: number; message?: string };

async function outcome(p: Promise<unknown>): Promise<TOutcome> {
  try {
    await p;
    return { code: null };
  } catch (e) {
    if (!(e instanceof TRPCError)) throw e;
    const details = (e.cause as { details?: { retryAfterSeconds?: number } } | undefined)?.details;
    return {
      code: e.code,
      message: e.message,
      ...(details?.retryAfterSeconds !== undefined ? { retryAfterSeconds: details.retryAfterSeconds } : {}),
    };
  }
}

describe.each(TEST_PROVIDERS)('login throttling (%s)', (provider) => {
  let h: THarness;
  let clock = Date.now();
  const tick = (ms: number) => (clock += ms);
  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
  });
  afterAll(() => h.close());

  const attempt = async (username: string, password: string, ip: string) =>
    outcome((await h.caller({ ip })).auth.login({ username, password }));

  it('the right password from a fresh IP signs in after 50 failures from another IP', async () => {
    const u = await makeCheapUser(h, 'admin');
    const codes: Array<string | null> = [];
    for (let i = 0; i < 50; i++) codes.push((await attempt(u.username, `wrong guess ${i}`, '10.1.0.1')).code);
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(FREE_FAILURES_PER_USER_IP);
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(50 - FREE_FAILURES_PER_USER_IP);
    expect(await attempt(u.username, u.password, '10.1.0.2')).toEqual({ code: null });
    // The guesser stays throttled, even with the right password.
    expect((await attempt(u.username, u.password, '10.1.0.1')).code).toBe('TOO_MANY_REQUESTS');
  });

  it('a parallel burst of 20 wrong guesses from one IP gets exactly the budget of password checks', async () => {
    const u = await makeCheapUser(h, 'viewer');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => attempt(u.username, `burst ${i}`, '10.2.0.1')),
    );
    expect(results.filter((r) => r.code === 'UNAUTHORIZED')).toHaveLength(FREE_FAILURES_PER_USER_IP);
    expect(results.filter((r) => r.code === 'TOO_MANY_REQUESTS')).toHaveLength(20 - FREE_FAILURES_PER_USER_IP);
    const row = await h.db.loginThrottle.findUnique({
      where: { key: userIpKey({ username: u.username, ip: '10.2.0.1' }) },
    });
    expect(row?.failures).toBe(FREE_FAILURES_PER_USER_IP);
    // The per-username counter counts only the guesses that were checked.
    expect((await h.db.loginThrottle.findUnique({ where: { key: userKey(u.username) } }))?.failures).toBe(
      FREE_FAILURES_PER_USER_IP,
    );
  });

  it('backoff doubles with each further failure, refusals do not extend it, and the answer says how long to wait', async () => {
    const u = await makeCheapUser(h, 'viewer');
    const ip = '10.3.0.1';
    for (let i = 0; i < FREE_FAILURES_PER_USER_IP; i++)
      expect((await attempt(u.username, 'nope nope', ip)).code).toBe('UNAUTHORIZED');
    const waits: number[] = [];
    for (let step = 0; step < 4; step++) {
      const refused = await attempt(u.username, 'nope nope', ip);
      expect(refused.code).toBe('TOO_MANY_REQUESTS');
      expect(refused.message).toMatch(/try again in \d+ (seconds?|minutes)/);
      waits.push(refused.retryAfterSeconds!);
      // A refused attempt is not a failure: waiting out the announced time is enough.
      tick(refused.retryAfterSeconds! * 1000);
      expect((await attempt(u.username, 'nope nope', ip)).code).toBe('UNAUTHORIZED');
    }
    expect(waits).toEqual([1, 2, 4, 8].map((f) => (BACKOFF_BASE_MS * f) / 1000));
    expect(backoffMs({ failures: FREE_FAILURES_PER_USER_IP + 20, free: FREE_FAILURES_PER_USER_IP })).toBe(
      BACKOFF_MAX_MS,
    );
    // Once the wait is over the right password signs in and the pair's count starts again.
    tick(BACKOFF_MAX_MS);
    expect((await attempt(u.username, u.password, ip)).code).toBeNull();
    expect(await h.db.loginThrottle.findUnique({ where: { key: userIpKey({ username: u.username, ip }) } })).toBeNull();
  });

  it('the count restarts after the window', async () => {
    const u = await makeCheapUser(h, 'viewer');
    const ip = '10.4.0.1';
    for (let i = 0; i < FREE_FAILURES_PER_USER_IP; i++) await attempt(u.username, 'nope nope', ip);
    expect((await attempt(u.username, 'nope nope', ip)).code).toBe('TOO_MANY_REQUESTS');
    tick(LOGIN_WINDOW_MS + 1000);
    expect((await attempt(u.username, 'nope nope', ip)).code).toBe('UNAUTHORIZED');
    expect(
      (await h.db.loginThrottle.findUnique({ where: { key: userIpKey({ username: u.username, ip }) } }))?.failures,
    ).toBe(1);
  });

  it('spaces around the username do not buy a fresh budget', async () => {
    const u = await makeCheapUser(h, 'viewer');
    const ip = '10.5.0.1';
    for (let i = 0; i < FREE_FAILURES_PER_USER_IP; i++)
      expect((await attempt(u.username, 'nope nope', ip)).code).toBe('UNAUTHORIZED');
    expect((await attempt(`  ${u.username} `, u.password, ip)).code).toBe('TOO_MANY_REQUESTS');
    // Straight to the domain function too (the router trims, the domain does not rely on it).
    const direct = login({
      db: h.db,
      provider,
      username: `\t${u.username} `,
      password: u.password,
      ip,
      userAgent: null,
      now: new Date(clock),
      pruning: h.services.pruning,
    });
    await expect(direct).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
  });

  it('a username under a distributed attack is slowed, never refused, for an IP that has not failed', async () => {
    const u = await makeCheapUser(h, 'admin');
    // As if 60 addresses had each failed once on this username in this window.
    await h.db.loginThrottle.create({
      data: { key: userKey(u.username), failures: 60, windowStart: new Date(clock), updatedAt: new Date(clock) },
    });
    const started = Date.now();
    expect(await attempt(u.username, u.password, '10.6.0.99')).toEqual({ code: null });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(USER_SLOW_MAX_MS);
    expect(took).toBeLessThan(USER_SLOW_MAX_MS + 5_000);
  });

  it('idle rows are pruned', async () => {
    const old = new Date(clock - LOGIN_WINDOW_MS - 60_000);
    await h.db.loginThrottle.create({
      data: { key: 'ui:ghost|10.7.0.1', failures: 3, windowStart: old, updatedAt: old },
    });
    await attempt('someone', 'nope nope', '10.7.0.2');
    await pruneLoginThrottle({ db: h.db, now: new Date(clock) });
    expect(await h.db.loginThrottle.findUnique({ where: { key: 'ui:ghost|10.7.0.1' } })).toBeNull();
    expect(
      await h.db.loginThrottle.findUnique({ where: { key: userIpKey({ username: 'someone', ip: '10.7.0.2' }) } }),
    ).not.toBeNull();
  });

  it.runIf(provider === 'postgresql')(
    'two console instances sharing PostgreSQL share one budget under a parallel burst',
    async () => {
      const u = await makeCheapUser(h, 'viewer');
      const other = createPrismaClient(h.testDb.config);
      try {
        const now = new Date(clock);
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            login({
              db: i % 2 ? other : h.db,
              provider,
              username: u.username,
              password: `two ${i}`,
              ip: '10.8.0.1',
              userAgent: null,
              now,
              pruning: h.services.pruning,
            }),
          ),
        );
        const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'OK'));
        expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(FREE_FAILURES_PER_USER_IP);
        expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(20 - FREE_FAILURES_PER_USER_IP);
      } finally {
        await other.$disconnect();
      }
    },
  );
});
