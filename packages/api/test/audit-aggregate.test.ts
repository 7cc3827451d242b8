// Failures anyone can cause (failed logins, failed enrollments) fold into one audit row per
// source and window with an exact count, on real SQLite and PostgreSQL, so requests without
// credentials cannot grow the audit table.
import { TRPCError } from '@trpc/server';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGGREGATE_WINDOW_MS,
  ANONYMOUS_AUDIT_RETENTION_MS,
  MAX_TARGETS_PER_IP,
  pruneAnonymousAudit,
  recordAnonymousFailure,
} from '../src/domain/audit/record-anonymous-failure';
import { FREE_FAILURES_PER_USER_IP } from '../src/domain/auth/login-throttle';
import { makeCheapUser } from './cheap-user';
import { createHarness, type THarness } from './harness';

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return e instanceof TRPCError ? e.code : String(e);
  }
}

describe.each(TEST_PROVIDERS)('aggregated anonymous audit rows (%s)', (provider) => {
  let h: THarness;
  // Mid-window, so a test's attempts do not straddle two windows.
  const clock = Math.floor(Date.now() / AGGREGATE_WINDOW_MS) * AGGREGATE_WINDOW_MS + AGGREGATE_WINDOW_MS / 2;
  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
  });
  afterAll(() => h.close());

  const rows = (action: string, target?: string) =>
    h.db.auditEvent.findMany({ where: { action, ...(target ? { target } : {}) }, orderBy: { id: 'asc' } });

  it('200 parallel failed logins from one IP to one username are one row with count 200', async () => {
    const at = new Date(clock);
    await Promise.all(
      Array.from({ length: 200 }, () =>
        recordAnonymousFailure({
          db: h.db,
          pruning: h.services.pruning,
          action: 'auth.login_failed',
          target: 'root',
          reason: 'unknown user',
          ip: '10.9.0.1',
          at,
        }),
      ),
    );
    const found = await rows('auth.login_failed', 'root');
    expect(found).toHaveLength(1);
    expect(found[0]!.count).toBe(200);
  });

  it('200 parallel sign-ins from one IP: the checked failures and the throttled rest are one row each, 200 in all', async () => {
    const u = await makeCheapUser(h, 'viewer');
    const anon = await h.caller({ ip: '10.9.0.2' });
    const codes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => codeOf(anon.auth.login({ username: u.username, password: `guess ${i}` }))),
    );
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(FREE_FAILURES_PER_USER_IP);
    const failed = await rows('auth.login_failed', u.username);
    const throttled = await rows('auth.login_throttled', u.username);
    expect(failed.map((r) => r.count)).toEqual([FREE_FAILURES_PER_USER_IP]);
    expect(throttled.map((r) => r.count)).toEqual([200 - FREE_FAILURES_PER_USER_IP]);
    // audit.list shows the count (the Audit page renders it as "× 195").
    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    const listed = await admin.audit.list({ action: 'auth.login_throttled', target: u.username });
    expect(listed.events.map((e) => e.count)).toEqual([200 - FREE_FAILURES_PER_USER_IP]);
  });

  it('200 parallel failed enrollments from one IP are one row with count 200', async () => {
    const anon = await h.caller({ ip: '10.9.0.3' });
    // The enrollment secret is generated at the first enrollment; its own first-time race is not this test's.
    await h.services.enrollmentSecret();
    const codes = await Promise.all(
      Array.from({ length: 200 }, () =>
        codeOf(anon.agent.enroll({ enrollToken: 'not-the-secret', hostname: 'gpu-intruder' })),
      ),
    );
    expect([...new Set(codes)]).toEqual(['UNAUTHORIZED']);
    const found = await rows('node.enroll_failed', 'gpu-intruder');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      count: 200,
      ip: '10.9.0.3',
      actorType: 'anonymous',
      reason: 'wrong enrollment token',
    });
  });

  it('a new window starts a new row; the row keeps the latest attempt time', async () => {
    const first = new Date(clock);
    await recordAnonymousFailure({
      db: h.db,
      pruning: h.services.pruning,
      action: 'auth.login_failed',
      target: 'windowed',
      reason: 'unknown user',
      ip: '10.9.0.4',
      at: first,
    });
    const later = new Date(clock + 60_000);
    await recordAnonymousFailure({
      db: h.db,
      pruning: h.services.pruning,
      action: 'auth.login_failed',
      target: 'windowed',
      reason: 'unknown user',
      ip: '10.9.0.4',
      at: later,
    });
    const next = new Date(clock + AGGREGATE_WINDOW_MS);
    await recordAnonymousFailure({
      db: h.db,
      pruning: h.services.pruning,
      action: 'auth.login_failed',
      target: 'windowed',
      reason: 'unknown user',
      ip: '10.9.0.4',
      at: next,
    });
    const found = await rows('auth.login_failed', 'windowed');
    expect(found.map((r) => [r.count, r.at.getTime()])).toEqual([
      [2, later.getTime()],
      [1, next.getTime()],
    ]);
  });

  it('one IP naming many usernames gets a bounded number of rows; the rest fold into its "*" row', async () => {
    const at = new Date(clock);
    for (let i = 0; i < MAX_TARGETS_PER_IP + 15; i++) {
      await recordAnonymousFailure({
        db: h.db,
        pruning: h.services.pruning,
        action: 'auth.login_failed',
        target: `spray-${i}`,
        reason: 'unknown user',
        ip: '10.9.0.5',
        at,
      });
    }
    const found = await h.db.auditEvent.findMany({ where: { action: 'auth.login_failed', ip: '10.9.0.5' } });
    expect(found).toHaveLength(MAX_TARGETS_PER_IP + 1);
    expect(found.find((r) => r.target === '*')?.count).toBe(15);
    expect(found.reduce((n, r) => n + r.count, 0)).toBe(MAX_TARGETS_PER_IP + 15);
  });

  it('aggregated rows past their retention are pruned; ordinary audit rows are kept', async () => {
    const old = new Date(clock - ANONYMOUS_AUDIT_RETENTION_MS - AGGREGATE_WINDOW_MS);
    await recordAnonymousFailure({
      db: h.db,
      pruning: h.services.pruning,
      action: 'node.enroll_failed',
      target: 'ancient',
      reason: 'wrong enrollment token',
      ip: '10.9.0.6',
      at: old,
    });
    await h.db.auditEvent.create({
      data: { actorType: 'system', actorName: 'test', action: 'user.create', target: 'ancient', at: old },
    });
    await pruneAnonymousAudit({ db: h.db, now: new Date(clock) });
    expect(await rows('node.enroll_failed', 'ancient')).toHaveLength(0);
    expect(await rows('user.create', 'ancient')).toHaveLength(1);
  });
});
