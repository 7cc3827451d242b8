// The guard owns a tier change by identity (the kind stored with it), not by the name "guard":
// a user or an API token called "guard" is an ordinary operator whose changes the guard neither
// takes for its own nor undoes. Real databases, the real guard ticking on a test clock.
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newSecret, sha256 } from '../src/lib/secrets';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

type TCaller = Awaited<ReturnType<THarness['caller']>>;

describe.each(TEST_PROVIDERS)('a user or token named "guard" is not the guard (%s)', (provider) => {
  let h: THarness;
  let clock = Date.now();
  let admin: TCaller;
  let guardUser: TCaller;
  let guardToken: TCaller;
  let prefix = '';
  let nodes: { api: TCaller; seq: number }[] = [];

  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    // An operator whose username is "guard", signed in with a session.
    const user = await h.db.user.create({ data: { username: 'guard', role: 'operator', passwordHash: 'x' } });
    const cookie = newSecret('cs');
    await h.db.session.create({
      data: { id: sha256(cookie), userId: user.id, expiresAt: new Date(Date.now() + 365 * 86_400_000) },
    });
    guardUser = await h.caller({ cookie: `coolant_session=${cookie}` });
    const token = await admin.tokens.create({ name: 'guard', role: 'operator' });
    guardToken = await h.caller({ authorization: `Bearer ${token.secret}` });
  });
  afterAll(async () => h.close());

  beforeEach(async () => {
    // Hours apart: earlier nodes are offline and earlier actions out of the hourly cap.
    clock += 3 * 3_600_000;
    prefix = `g${Math.random().toString(36).slice(2, 7)}`;
    await admin.tiers.create({ name: `${prefix}-free` });
    nodes = [];
    for (let i = 0; i < 2; i++)
      nodes.push({
        api: await h.caller({ authorization: (await h.makeNodeToken(`${prefix}-gpu-${i}`)).token }),
        seq: 0,
      });
    await admin.guard.disarm({ restore: true });
    await admin.guard.update({
      config: {
        intervalSeconds: 10,
        windowSeconds: 20,
        rules: [
          {
            id: 'hot',
            signal: 'hot_share',
            trip: 0.5,
            clear: 0.2,
            tripWindowSeconds: 30,
            clearWindowSeconds: 60,
            ladder: [
              { tier: `${prefix}-free`, action: 'limit', window: 'day', limit: 3 },
              { tier: `${prefix}-free`, action: 'pause' },
            ],
          },
        ],
      },
      reason: 'test',
    });
    await admin.guard.arm({});
  });

  async function run(seconds: number, temp: number) {
    for (let t = 0; t < seconds; t += 10) {
      clock += 10_000;
      for (const n of nodes) {
        n.seq++;
        await n.api.agent.report({
          intervalSeconds: 5,
          samples: [
            sample(n.seq, [gpu(0, { temperatureGpu: temp }), gpu(1, { temperatureGpu: temp })], new Date(clock)),
          ],
        });
      }
      await h.services.guard.tick();
    }
  }
  const taken = async () => (await admin.guard.get()).rules[0]!.ladder.map((s) => s.taken?.status ?? null);
  const tierRow = (name: string) => h.db.tier.findUniqueOrThrow({ where: { name } });

  it('a pause re-taken by a user named "guard" is an override: the guard leaves it in place when it climbs down', async () => {
    const free = `${prefix}-free`;
    await run(70, 92);
    expect(await taken()).toEqual(['applied', 'applied']);
    expect(await tierRow(free)).toMatchObject({ pausedBy: 'guard', pausedByKind: 'guard' });
    // The operator called "guard" takes the pause over: resumes and pauses again by hand.
    await guardUser.tiers.resume({ tier: free, reason: 'taking over' });
    await guardUser.tiers.pause({ tier: free, reason: 'paused by hand' });
    expect(await tierRow(free)).toMatchObject({
      pausedBy: 'guard',
      pausedByKind: 'user',
      pauseReason: 'paused by hand',
    });
    await run(10, 92);
    expect((await taken())[1]).toBe('overridden');
    // Cool for long enough to climb all the way down: the guard's own limit is cleared, the user's pause stays.
    await run(300, 50);
    expect((await admin.guard.get()).rules[0]!.position).toBe(0);
    expect(await tierRow(free)).toMatchObject({
      pausedBy: 'guard',
      pausedByKind: 'user',
      pauseReason: 'paused by hand',
    });
    const audit = await admin.audit.list({ target: free, action: 'tier.' });
    const pauses = audit.events.filter((e) => e.action === 'tier.pause').map((e) => `${e.actorType}:${e.actorName}`);
    expect(pauses.sort()).toEqual(['system:guard', 'user:guard']);
    expect(audit.events.filter((e) => e.action === 'tier.resume').map((e) => `${e.actorType}:${e.actorName}`)).toEqual([
      'user:guard',
    ]);
  });

  it('a temporary limit set by a token named "guard" is not replaced by the guard: operators win', async () => {
    const free = `${prefix}-free`;
    await guardToken.tiers.setTemporaryLimit({
      tier: free,
      window: 'day',
      limit: 1,
      until: new Date(clock + 86_400_000).toISOString(),
      reason: 'by hand',
    });
    // Five minutes ago on the guard's clock (the audit row carries the database's time).
    await h.db.auditEvent.updateMany({
      where: { target: free, actorType: 'token', actorName: 'guard' },
      data: { at: new Date(clock - 300_000) },
    });
    const limit = await h.db.temporaryLimit.findFirstOrThrow({ where: { tier: { name: free }, clearedAt: null } });
    expect(limit).toMatchObject({ createdBy: 'guard', createdByKind: 'token', limit: 1 });
    await run(40, 92);
    expect((await taken())[0]).toBe('skipped');
    const inForce = await h.db.temporaryLimit.findMany({ where: { tier: { name: free }, clearedAt: null } });
    expect(inForce.map((l) => ({ limit: l.limit, createdByKind: l.createdByKind }))).toEqual([
      { limit: 1, createdByKind: 'token' },
    ]);
    const skip = (await admin.guard.history({ limit: 50 })).events.find((e) => e.kind === 'skip' && e.tier === free);
    expect(skip?.message).toMatch(/operators win/);
  });

  it("the guard's own changes are recorded with kind guard, and disarm restores only those", async () => {
    const free = `${prefix}-free`;
    await run(40, 92);
    expect(await taken()).toEqual(['applied', null]);
    const mine = await h.db.temporaryLimit.findFirstOrThrow({ where: { tier: { name: free }, clearedAt: null } });
    expect(mine).toMatchObject({ createdBy: 'guard', createdByKind: 'guard', limit: 3 });
    expect((await admin.guard.disarm({ restore: true })).restored).toEqual([`limit ${free}`]);
    expect(await h.db.temporaryLimit.findUniqueOrThrow({ where: { id: mine.id } })).toMatchObject({
      clearedBy: 'guard',
      clearedByKind: 'guard',
    });
  });
});
