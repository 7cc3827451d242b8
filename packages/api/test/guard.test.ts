import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signWebhook } from '../src/domain/guard/webhook';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

type TCaller = Awaited<ReturnType<THarness['caller']>>;
type THook = {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: { id: string; text: string; event: string; rule: string | null; tier: string | null; signal: unknown };
};

describe.each(TEST_PROVIDERS)('launch-day guard (%s)', (provider) => {
  let h: THarness;
  let clock = Date.now();
  let admin: TCaller;
  let operator: TCaller;
  let viewer: TCaller;
  let server: Server;
  let hooks: THook[] = [];
  let failNextHooks = 0;
  let hookUrl = '';

  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    operator = await h.caller({ authorization: await h.makeToken('operator') });
    viewer = await h.caller({ authorization: await h.makeToken('viewer') });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (failNextHooks > 0) {
          failNextHooks--;
          res.writeHead(503).end();
          return;
        }
        hooks.push({ headers: req.headers, body, json: JSON.parse(body) as THook['json'] });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await h.close();
    await new Promise((r) => server.close(r));
  });

  let prefix = '';
  let testStart = 0;
  async function history(limit = 200) {
    return (await viewer.guard.history({ limit })).events.filter((e) => Date.parse(e.at) >= testStart);
  }
  let nodes: { api: TCaller; seq: number }[] = [];
  beforeEach(async () => {
    // Each test starts three hours later: the nodes of earlier tests are offline and their actions out of the hourly cap.
    clock += 3 * 3_600_000;
    hooks = [];
    testStart = clock;
    prefix = `t${Math.random().toString(36).slice(2, 7)}`;
    await admin.tiers.create({ name: `${prefix}-free` });
    await admin.tiers.create({ name: `${prefix}-plus` });
    nodes = [];
    for (let i = 0; i < 2; i++) {
      const { token } = await h.makeNodeToken(`${prefix}-gpu-${i}`);
      nodes.push({ api: await h.caller({ authorization: token }), seq: 0 });
    }
    // The webhook secret is shortened in the retry test only; everything else uses the defaults.
    await admin.guard.disarm({ restore: true }).catch(() => {});
  });

  async function configure(over: Record<string, unknown> = {}, rule: Record<string, unknown> = {}) {
    await admin.guard.update({
      config: {
        intervalSeconds: 10,
        windowSeconds: 20,
        maxActionsPerHour: 6,
        webhook: { url: hookUrl, secret: 'hook-secret-1234' },
        ...over,
        rules: [
          {
            id: 'hot',
            signal: 'hot_share',
            temperatureC: 85,
            trip: 0.5,
            clear: 0.2,
            tripWindowSeconds: 60,
            clearWindowSeconds: 120,
            ladder: [
              { tier: `${prefix}-free`, action: 'limit', window: 'day', limit: 3 },
              { tier: `${prefix}-free`, action: 'pause' },
              { tier: `${prefix}-plus`, action: 'limit', window: 'day', limit: 20 },
            ],
            ...rule,
          },
        ],
      },
      reason: 'test',
    });
    await operator.guard.arm({});
  }

  /** Every 10 s: each node reports its two GPUs at temp(t), then the guard evaluates. */
  async function run(seconds: number, temp: ((t: number) => number) | null) {
    const results = [];
    for (let t = 0; t < seconds; t += 10) {
      clock += 10_000;
      if (temp) {
        for (const n of nodes) {
          n.seq++;
          await n.api.agent.report({
            intervalSeconds: 5,
            samples: [
              sample(
                n.seq,
                [gpu(0, { temperatureGpu: temp(t) }), gpu(1, { temperatureGpu: temp(t) })],
                new Date(clock),
              ),
            ],
          });
        }
      }
      results.push(await h.services.guard.tick());
    }
    return results;
  }

  async function tierState(name: string) {
    const t = (await viewer.tiers.list()).tiers.find((x) => x.name === name)!;
    return {
      paused: t.paused,
      pausedBy: t.pause?.by ?? null,
      dayLimit: t.limits.find((l) => l.window === 'day')!.temporary?.limit ?? null,
    };
  }

  async function position() {
    return (await viewer.guard.get()).rules[0]!.position;
  }

  it('hot → trips after the trip window and climbs one step per trip window; cool → climbs down in reverse and clears; each action audited as guard with the signal; webhooks signed', async () => {
    await configure();
    const free = `${prefix}-free`;
    const plus = `${prefix}-plus`;
    // Above the threshold from the first evaluation: trip exactly one trip window (60 s) later.
    await run(60, () => 92);
    expect(await position()).toBe(0);
    expect((await viewer.guard.get()).state).toBe('armed');
    await run(10, () => 92);
    expect(await position()).toBe(1);
    expect((await viewer.guard.get()).state).toBe('tripped');
    expect(await tierState(free)).toEqual({ paused: false, pausedBy: null, dayLimit: 3 });
    await run(50, () => 92);
    expect(await position()).toBe(1);
    await run(10, () => 92);
    expect(await position()).toBe(2);
    expect(await tierState(free)).toMatchObject({ paused: true, pausedBy: 'guard' });
    await run(60, () => 92);
    expect(await position()).toBe(3);
    expect(await tierState(plus)).toMatchObject({ dayLimit: 20 });
    // The ladder is done: more heat takes no further step.
    await run(120, () => 92);
    expect(await position()).toBe(3);
    const g = await viewer.guard.get();
    expect(g.shed.map((s) => s.description)).toEqual([
      `limit ${free} to 3/day`,
      `pause ${free}`,
      `limit ${plus} to 20/day`,
    ]);
    expect(g.rules[0]!.series.length).toBeGreaterThan(20);

    const audit = await viewer.audit.list({ limit: 50 });
    const pause = audit.events.find((e) => e.action === 'tier.pause' && e.target === free)!;
    expect(pause).toMatchObject({ actorType: 'system', actorName: 'guard' });
    expect(JSON.stringify(pause.details)).toContain('"signal":"hot_share"');
    expect(JSON.stringify(pause.details)).toMatch(/"value":1\b/);
    expect(JSON.stringify(pause.details)).toContain('guardConfigVersion');

    // Cool: below clear from ~20 s in (the window drains), then 120 s → step 3 undone, then one step per 60 s.
    await run(130, () => 60);
    expect((await viewer.guard.get()).state).toBe('cooling');
    expect(await position()).toBe(2);
    expect(await tierState(plus)).toMatchObject({ dayLimit: null });
    await run(60, () => 60);
    expect(await position()).toBe(1);
    expect(await tierState(free)).toMatchObject({ paused: false, dayLimit: 3 });
    await run(60, () => 60);
    expect(await position()).toBe(0);
    expect(await tierState(free)).toEqual({ paused: false, pausedBy: null, dayLimit: null });
    expect((await viewer.guard.get()).state).toBe('armed');
    expect((await viewer.guard.get()).shed).toEqual([]);

    const kinds = (await history()).map((e) => e.kind).reverse();
    expect(kinds.filter((k) => ['trip', 'step', 'cooling', 'unstep', 'clear'].includes(k))).toEqual([
      'trip',
      'step',
      'step',
      'step',
      'cooling',
      'unstep',
      'unstep',
      'unstep',
      'clear',
    ]);

    await h.services.guard.flushWebhooks();
    const events = hooks.map((x) => x.json.event);
    expect(events).toEqual(expect.arrayContaining(['trip', 'step', 'unstep', 'clear']));
    expect(events.filter((e) => e === 'step')).toHaveLength(3);
    for (const hook of hooks) {
      const ts = String(hook.headers['x-coolant-timestamp']);
      expect(hook.headers['x-coolant-signature']).toBe(
        signWebhook({ secret: 'hook-secret-1234', timestamp: ts, body: hook.body }),
      );
      expect(hook.json.text).toMatch(/Coolant guard/);
    }
  });

  it('a noisy signal around the trip threshold never trips; noise between the thresholds after a trip neither climbs down nor up', async () => {
    await configure();
    // 30 s above, 30 s below, for 10 minutes: never above for a whole 60 s trip window.
    const results = await run(600, (t) => (Math.floor(t / 30) % 2 === 0 ? 92 : 70));
    expect(results.flatMap((r) => r.events ?? [])).toEqual([]);
    expect(await position()).toBe(0);
    // The window first drains the cool samples (20 s), then a full trip window.
    await run(90, () => 92);
    expect(await position()).toBe(1);
    // Half the GPUs hot: share 0.5 ≥ trip... keep it between clear (0.2) and trip (0.5): one hot GPU of four = 0.25.
    let i = 0;
    const before = (await history(500)).length;
    for (let t = 0; t < 600; t += 10) {
      clock += 10_000;
      for (const n of nodes) {
        n.seq++;
        i++;
        await n.api.agent.report({
          intervalSeconds: 5,
          samples: [
            sample(
              n.seq,
              [gpu(0, { temperatureGpu: n === nodes[0] ? 92 : 60 }), gpu(1, { temperatureGpu: 60 + (i % 3) })],
              new Date(clock),
            ),
          ],
        });
      }
      await h.services.guard.tick();
    }
    expect(await position()).toBe(1);
    expect((await history(500)).length).toBe(before);
  });

  it('operators win: a tier changed by hand in the last 30 min is left alone; a manual resume while tripped disarms that step until the signal clears', async () => {
    const free = `${prefix}-free`;
    const plus = `${prefix}-plus`;
    await configure({}, { tripWindowSeconds: 30 });
    await run(70, () => 92);
    expect(await position()).toBe(2);
    expect(await tierState(free)).toMatchObject({ paused: true, pausedBy: 'guard' });
    // An operator lets free back in while the fleet is still hot.
    await operator.tiers.resume({ tier: free, reason: 'VIP launch event' });
    await h.db.auditEvent.updateMany({
      where: { target: free, actorName: { not: 'guard' } },
      data: { at: new Date(clock) },
    });
    await run(10, () => 92);
    const g = await viewer.guard.get();
    expect(g.rules[0]!.ladder[1]!.taken).toMatchObject({ status: 'overridden' });
    expect(await tierState(free)).toMatchObject({ paused: false });
    await run(120, () => 92);
    // Climbed to plus, never re-paused free.
    expect(await position()).toBe(3);
    expect(await tierState(free)).toMatchObject({ paused: false });
    expect(await tierState(plus)).toMatchObject({ dayLimit: 20 });
    expect((await history()).some((e) => e.kind === 'override' && e.tier === free)).toBe(true);
    // Cooling undoes only the guard's own: plus and free's day limit; the resumed pause stays resumed.
    await run(400, () => 50);
    expect(await position()).toBe(0);
    expect(await tierState(free)).toEqual({ paused: false, pausedBy: null, dayLimit: null });
    expect(await tierState(plus)).toMatchObject({ dayLimit: null });

    // Next heat wave: an operator set free's limit by hand 5 minutes ago; free's steps are skipped, plus is shed.
    clock += 3_600_000;
    await operator.tiers.setTemporaryLimit({
      tier: free,
      window: 'day',
      limit: 1,
      until: new Date(clock + 86_400_000).toISOString(),
      reason: 'by hand',
    });
    await h.db.auditEvent.updateMany({
      where: { target: free, actorName: { not: 'guard' } },
      data: { at: new Date(clock - 300_000) },
    });
    await run(100, () => 92);
    expect(await position()).toBe(3);
    const taken = (await viewer.guard.get()).rules[0]!.ladder.map((s) => s.taken?.status);
    expect(taken).toEqual(['skipped', 'skipped', 'applied']);
    expect(await tierState(free)).toMatchObject({ paused: false, dayLimit: 1 });
    const skip = (await viewer.audit.list({ limit: 50 })).events.find((e) => e.action === 'guard.skip');
    expect(skip?.reason).toMatch(/operators win/);
  });

  it('operators arming at once are all answered armed: a write of the guard state in between is read again, not refused', async () => {
    const answers = await Promise.allSettled([operator.guard.arm({}), admin.guard.arm({}), operator.guard.arm({})]);
    expect(answers.map((a) => (a.status === 'fulfilled' ? a.value.armed : String(a.reason)))).toEqual([
      true,
      true,
      true,
    ]);
    expect((await viewer.guard.get()).armed).toBe(true);
  });

  it('dry run: records what it would do, changes nothing', async () => {
    await configure({}, { dryRun: true });
    await run(210, () => 92);
    expect(await position()).toBe(3);
    expect(await tierState(`${prefix}-free`)).toEqual({ paused: false, pausedBy: null, dayLimit: null });
    expect(await tierState(`${prefix}-plus`)).toEqual({ paused: false, pausedBy: null, dayLimit: null });
    const steps = (await history()).filter((e) => e.kind === 'step');
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(steps.every((e) => e.dryRun && e.message.startsWith('[dry run]'))).toBe(true);
    expect((await viewer.guard.get()).shed).toEqual([]);
    expect(
      (await viewer.audit.list({ limit: 50 })).events.filter((e) => e.action === 'guard.dry_run_step').length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('no telemetry: holds (neither hot nor cool), raises an alert, and resumes deciding when data is back', async () => {
    await configure();
    await run(70, () => 92);
    expect(await position()).toBe(1);
    // The agents stop reporting: the window drains, nodes go stale then offline.
    await run(600, null);
    const g = await viewer.guard.get();
    expect(g.state).toBe('holding: no data');
    expect(g.alert).toMatch(/holding/);
    expect(g.rules[0]!.position).toBe(1);
    const holds = (await history()).filter((e) => e.kind === 'hold');
    expect(holds).toHaveLength(1);
    expect(
      (await viewer.audit.list({ limit: 50 })).events.some((e) => e.action === 'guard.hold' && e.actorName === 'guard'),
    ).toBe(true);
    await h.services.guard.flushWebhooks();
    expect(hooks.some((x) => x.json.event === 'hold')).toBe(true);
    // Data back and cool: the streak starts again from scratch; 120 s clear window.
    await run(110, () => 50);
    expect(await position()).toBe(1);
    await run(40, () => 50);
    expect(await position()).toBe(0);
  });

  it('at most K automatic actions per hour; the webhook is retried', async () => {
    failNextHooks = 2;
    await configure({ maxActionsPerHour: 2 }, { tripWindowSeconds: 10 });
    await run(300, () => 92);
    expect(await position()).toBe(2);
    const caps = (await history()).filter((e) => e.kind === 'cap');
    expect(caps).toHaveLength(1);
    // An hour after the first action the ladder goes on.
    clock += 3_500_000;
    await run(150, () => 92);
    expect(await position()).toBe(3);
    await h.services.guard.flushWebhooks();
    // At least once: a retry after a lost answer may repeat a delivery, with the same id.
    expect(new Set(hooks.filter((x) => x.json.event === 'trip').map((x) => x.json.id)).size).toBe(1);
  }, 60_000);

  it('the drill: a dry run through the deciding instance, and a live pause and resume of a tier, with its figures stored', async () => {
    await configure();
    const [dry] = await Promise.all([
      admin.guard.drill({}),
      (async () => {
        await new Promise((r) => setTimeout(r, 50));
        await h.services.guard.tick();
      })(),
    ]);
    expect(dry).toMatchObject({ state: 'done', live: false, instances: 1 });
    expect(dry.decisionMs).not.toBeNull();
    expect(dry.propagationMs).not.toBeNull();
    const tier = `${prefix}-plus`;
    const [live] = await Promise.all([
      admin.guard.drill({ live: true, tier }),
      (async () => {
        await new Promise((r) => setTimeout(r, 50));
        await h.services.guard.tick();
      })(),
    ]);
    expect(live).toMatchObject({ state: 'done', live: true, tier });
    expect(await tierState(tier)).toMatchObject({ paused: false });
    const audit = (await viewer.audit.list({ limit: 20 })).events;
    expect(audit.some((e) => e.action === 'tier.pause' && e.target === tier && e.actorName === 'guard')).toBe(true);
    expect(audit.some((e) => e.action === 'tier.resume' && e.target === tier && e.actorName === 'guard')).toBe(true);
    expect((await viewer.guard.history({})).drills.length).toBeGreaterThanOrEqual(2);
  });

  it('disarm restores what the guard shed; a viewer cannot disarm; update validates', async () => {
    await configure();
    await run(190, () => 92);
    expect(await position()).toBe(3);
    await expect(viewer.guard.disarm({})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(operator.guard.update({ config: {} })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      admin.guard.update({
        config: {
          rules: [
            { id: 'x', signal: 'p90_temperature', trip: 80, clear: 90, ladder: [{ tier: 'free', action: 'pause' }] },
          ],
        },
      }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('clear must be below trip'),
    });
    for (const url of ['http://user:pw@127.0.0.1:9/hook', 'ftp://127.0.0.1/hook']) {
      await expect(
        admin.guard.update({ config: { webhook: { url, secret: 'hook-secret-1234' }, rules: [] } }),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('config.webhook.url') });
    }
    await expect(admin.guard.update({ config: { rules: [] } })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('has shed load'),
    });
    const r = await operator.guard.disarm({ reason: 'done' });
    expect(r.restored).toHaveLength(3);
    expect(await tierState(`${prefix}-free`)).toEqual({ paused: false, pausedBy: null, dayLimit: null });
    expect((await viewer.guard.get()).state).toBe('disarmed');
  });
});
