// The guard's reserve step against real SQLite and PostgreSQL, driven by agent reports and
// guard ticks as in guard.test.ts: it sets a tier's CapacityShare.reserved, undo puts the value
// it found back exactly (no row again when there was none), an operator moving the reservation
// meanwhile is an override the guard leaves alone, and disarm restores it.
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

type TCaller = Awaited<ReturnType<THarness['caller']>>;

describe.each(TEST_PROVIDERS)('guard reserve step (%s)', (provider) => {
  let h: THarness;
  // Audit rows take the database's clock: starting at the real time and moving on keeps them in the past.
  let clock = Date.now();
  let admin: TCaller;
  let operator: TCaller;
  let viewer: TCaller;
  let prefix = '';
  let free = '';
  let paid = '';
  let nodes: { api: TCaller; seq: number }[] = [];

  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    operator = await h.caller({ authorization: await h.makeToken('operator') });
    viewer = await h.caller({ authorization: await h.makeToken('viewer') });
  });
  afterAll(() => h.close());

  beforeEach(async () => {
    // Three hours on: earlier nodes are offline, earlier actions out of the hourly cap and the grace.
    clock += 3 * 3_600_000;
    prefix = `r${Math.random().toString(36).slice(2, 7)}`;
    free = `${prefix}-free`;
    paid = `${prefix}-paid`;
    await admin.tiers.create({ name: free });
    await admin.tiers.create({ name: paid });
    nodes = [];
    for (let i = 0; i < 2; i++) {
      const { token } = await h.makeNodeToken(`${prefix}-gpu-${i}`);
      nodes.push({ api: await h.caller({ authorization: token }), seq: 0 });
    }
    await admin.guard.disarm({ restore: true }).catch(() => {});
  });

  /** Shares set by an operator long enough ago (its audit row is at the real time, hours before the clock). */
  async function shares(list: { tier: string; priority: number; reserved: number }[]) {
    await admin.capacity.configure({ shares: list, reason: 'test setup' });
  }

  async function arm(ladder: unknown[]) {
    await admin.guard.update({
      config: {
        intervalSeconds: 10,
        windowSeconds: 20,
        maxActionsPerHour: 20,
        rules: [
          {
            id: 'hot',
            signal: 'hot_share',
            temperatureC: 85,
            trip: 0.5,
            clear: 0.2,
            tripWindowSeconds: 30,
            clearWindowSeconds: 60,
            ladder,
          },
        ],
      } as never,
      reason: 'test',
    });
    await operator.guard.arm({});
  }

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

  const position = async () => (await viewer.guard.get()).rules[0]!.position;
  /** The stored row, null when the tier has none. */
  async function share(tier: string) {
    const row = await h.db.capacityShare.findFirst({ where: { tier: { name: tier } } });
    return row ? { priority: row.priority, reserved: row.reserved } : null;
  }

  it('applies and undoes in reverse: the reservation it found comes back exactly, a row it created goes again', async () => {
    await shares([
      { tier: paid, priority: 10, reserved: 0.6 },
      { tier: free, priority: 0, reserved: 0.3 },
    ]);
    const other = `${prefix}-none`;
    await admin.tiers.create({ name: other });
    await arm([
      { tier: free, action: 'reserve', reserved: 0.05 },
      { tier: other, action: 'reserve', reserved: 0.02 },
      { tier: free, action: 'pause' },
    ]);
    await run(40, 92);
    expect(await position()).toBe(1);
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.05 });
    expect((await viewer.capacity.get()).tiers.find((t) => t.tier === free)).toMatchObject({ reserved: 0.05 });
    await run(30, 92);
    expect(await position()).toBe(2);
    expect(await share(other)).toEqual({ priority: 0, reserved: 0.02 });
    await run(30, 92);
    expect(await position()).toBe(3);
    const g = await viewer.guard.get();
    expect(g.shed.map((s) => s.description)).toEqual([
      `reserve 5 % of capacity for ${free}`,
      `reserve 2 % of capacity for ${other}`,
      `pause ${free}`,
    ]);
    const audit = (await viewer.audit.list({ action: 'capacity.reserve', target: free })).events;
    expect(audit[0]).toMatchObject({ actorType: 'system', actorName: 'guard' });
    expect(audit[0]!.details).toMatchObject({ before: { reserved: 0.3 }, after: { reserved: 0.05 } });

    // Cool: pause undone first, then other's row removed, then free's 0.3 back.
    await run(90, 50);
    expect(await position()).toBe(2);
    expect((await viewer.tiers.list()).tiers.find((t) => t.name === free)!.paused).toBe(false);
    expect(await share(other)).toEqual({ priority: 0, reserved: 0.02 });
    await run(30, 50);
    expect(await position()).toBe(1);
    expect(await share(other)).toBeNull();
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.05 });
    await run(30, 50);
    expect(await position()).toBe(0);
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.3 });
    expect(await share(paid)).toEqual({ priority: 10, reserved: 0.6 });
    const kinds = (await viewer.guard.history({ limit: 50 })).events
      .filter((e) => e.rule === 'hot' && ['step', 'unstep'].includes(e.kind) && e.tier?.startsWith(prefix))
      .map((e) => `${e.kind} ${e.action}`)
      .reverse();
    expect(kinds).toEqual([
      'step reserve',
      'step reserve',
      'step pause',
      'unstep pause',
      'unstep reserve',
      'unstep reserve',
    ]);
  });

  it('an operator who moves the reservation overrides the step: left alone by undo; a too-large reserve is skipped', async () => {
    await shares([
      { tier: paid, priority: 10, reserved: 0.7 },
      { tier: free, priority: 0, reserved: 0.2 },
    ]);
    // paid's 0.95 beside free's share passes 100 %: skipped with a note.
    await arm([
      { tier: free, action: 'reserve', reserved: 0.05 },
      { tier: paid, action: 'reserve', reserved: 0.95 },
    ]);
    await run(40, 92);
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.05 });
    // An operator gives free 10 % while the fleet is still hot.
    await admin.capacity.configure({
      shares: [
        { tier: paid, priority: 10, reserved: 0.7 },
        { tier: free, priority: 0, reserved: 0.1 },
      ],
      reason: 'VIP event',
    });
    await run(10, 92);
    let g = await viewer.guard.get();
    expect(g.rules[0]!.ladder[0]!.taken).toMatchObject({ status: 'overridden' });
    expect(
      (await viewer.guard.history({ limit: 20 })).events.some((e) => e.kind === 'override' && e.tier === free),
    ).toBe(true);
    await run(30, 92);
    g = await viewer.guard.get();
    expect(g.rules[0]!.ladder[1]!.taken).toMatchObject({ status: 'skipped' });
    const skip = (await viewer.guard.history({ limit: 20 })).events.find((e) => e.kind === 'skip' && e.tier === paid);
    expect(skip?.message).toContain(`reserving 95 % for ${paid} would take the reservations to 105 %`);
    expect(await share(paid)).toEqual({ priority: 10, reserved: 0.7 });
    // Cooling leaves the operator's 10 % alone.
    await run(200, 50);
    expect(await position()).toBe(0);
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.1 });
  });

  it('undo never takes the reservations past 100 %: another tier reserved meanwhile, the share comes back only as far as fits', async () => {
    await shares([
      { tier: paid, priority: 10, reserved: 0.6 },
      { tier: free, priority: 0, reserved: 0.3 },
    ]);
    await arm([{ tier: free, action: 'reserve', reserved: 0.05 }]);
    await run(40, 92);
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.05 });
    // An operator gives paid 80 % while free is shrunk, changing only paid (free stays the guard's).
    await admin.capacity.configure({ sharesMode: 'merge', shares: [{ tier: paid, reserved: 0.8 }], reason: 'launch' });
    await run(10, 92);
    expect((await viewer.guard.get()).rules[0]!.ladder[0]!.taken).toMatchObject({ status: 'applied' });
    await run(200, 50);
    expect(await position()).toBe(0);
    // 30 % back would make 110 %: free gets the 20 % paid leaves, and the audit row and the event say so.
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.2 });
    expect(await share(paid)).toEqual({ priority: 10, reserved: 0.8 });
    const note = `putting back 30 % for ${free} would take the reservations to 110 %; put back 20 % (what the other tiers leave)`;
    const audit = (await viewer.audit.list({ action: 'capacity.reserve', target: free })).events[0]!;
    expect(audit.details).toMatchObject({
      before: { reserved: 0.05 },
      after: { reserved: 0.2 },
      wanted: { reserved: 0.3 },
      note,
    });
    const unstep = (await viewer.guard.history({ limit: 20 })).events.find(
      (e) => e.kind === 'unstep' && e.tier === free,
    );
    expect(unstep?.message).toContain(note);
  });

  it("an operator who restates the guard's value (a whole set sent back unchanged) owns it: undo leaves it alone", async () => {
    await shares([
      { tier: paid, priority: 10, reserved: 0.6 },
      { tier: free, priority: 0, reserved: 0.3 },
    ]);
    await arm([{ tier: free, action: 'reserve', reserved: 0.05 }]);
    await run(40, 92);
    // As the CLI used to: every share sent back, free's 5 % unchanged, paid's raised to 80 %.
    await admin.capacity.configure({
      shares: [
        { tier: paid, priority: 10, reserved: 0.8 },
        { tier: free, priority: 0, reserved: 0.05 },
      ],
      reason: 'launch',
    });
    await run(10, 92);
    expect((await viewer.guard.get()).rules[0]!.ladder[0]!.taken).toMatchObject({ status: 'overridden' });
    await run(200, 50);
    expect(await position()).toBe(0);
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.05 });
  });

  it('a reserve step right after an operator configured capacity is skipped (operators win); disarm restores an applied one', async () => {
    await admin.capacity.configure({ shares: [{ tier: free, priority: 0, reserved: 0.25 }], reason: 'just now' });
    await h.db.auditEvent.updateMany({
      where: { action: 'capacity.configure', reason: 'just now' },
      data: { at: new Date(clock) },
    });
    await arm([{ tier: free, action: 'reserve', reserved: 0.05 }]);
    await run(40, 92);
    expect((await viewer.guard.get()).rules[0]!.ladder[0]!.taken).toMatchObject({ status: 'skipped' });
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.25 });
    await operator.guard.disarm({ restore: true });

    clock += 31 * 60_000;
    await arm([{ tier: free, action: 'reserve', reserved: 0.05 }]);
    await run(40, 92);
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.05 });
    const r = await operator.guard.disarm({ reason: 'done' });
    expect(r.restored).toEqual([`reserve ${free}`]);
    expect(await share(free)).toEqual({ priority: 0, reserved: 0.25 });
  });

  it('a reserve step is validated: reserved within 0..1', async () => {
    for (const reserved of [-0.1, 1.5, '10%']) {
      await expect(
        admin.guard.update({
          config: {
            rules: [
              {
                id: 'x',
                signal: 'hot_share',
                trip: 0.5,
                clear: 0.2,
                ladder: [{ tier: free, action: 'reserve', reserved }],
              },
            ],
          } as never,
        }),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/reserved/) });
    }
  });
});
