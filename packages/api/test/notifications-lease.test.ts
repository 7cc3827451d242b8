/**
 * The notifier's scheduling against real receivers: the lease holds through a pass whose POSTs
 * outlast it (renewed before each), an instance that lost it posts nothing more, a slow webhook
 * holds up neither Alertmanager nor its re-send, and stop() returns at once while a receiver hangs.
 */
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type THarness } from './harness';
import {
  deliverer,
  fleetAlert,
  receiver,
  resetNotifications,
  SECRET,
  until,
  verified,
  type TReceiver,
} from './notification-receivers';

describe.each(TEST_PROVIDERS)('notifications: lease and scheduling (%s)', (provider) => {
  let h: THarness;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let hook: TReceiver;
  let am: TReceiver;
  let clock = Date.now();
  const now = () => new Date(clock);
  let node = '';
  const running: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    h = await createHarness(provider);
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    hook = await receiver();
    am = await receiver('/');
    node = (await h.makeNodeToken('lease-node')).nodeId;
  });
  afterEach(() => resetNotifications({ db: h.db, admin, running, receivers: [hook, am] }));
  afterAll(async () => {
    await hook?.close();
    await am?.close();
    await h?.close();
  });

  const make = (id: string, options = {}) => {
    const d = deliverer({ db: h.db, instanceId: id, now, options });
    running.push(d);
    return d;
  };
  const fire = async (n: number) => {
    for (let i = 0; i < n; i++) await fleetAlert({ db: h.db, nodeId: node, gpuIndex: i, firingAt: now() });
  };

  it('a pass whose POSTs outlast the lease renews it before each: a second deliverer ticking meanwhile never delivers; each event once, in order', async () => {
    await admin.notifications.configure({ alertmanager: null, webhook: { url: hook.url, secret: SECRET } });
    const a = make('deliverer-a');
    const b = make('deliverer-b');
    // A holds the lease before B ticks at all (otherwise which one takes it first is a race).
    expect((await a.tick()).leader).toBe(true);
    await fire(6);
    // Each POST takes 3 s of the deliverers' clock: six of them are 18 s, the lease lasts 5.
    hook.onRequest = () => {
      clock += 3_000;
    };
    hook.answer = { status: 200, delayMs: 20 };
    let done = false;
    const pass = a.tick().finally(() => (done = true));
    const others: boolean[] = [];
    while (!done) {
      others.push((await b.tick()).leader);
      await new Promise((ok) => setTimeout(ok, 5));
    }
    expect(await pass).toMatchObject({ leader: true, appended: 6, webhook: 6 });
    expect(others.length).toBeGreaterThan(3);
    expect(others.every((l) => !l)).toBe(true);
    const ids = hook.events().map((e) => e.id);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
    const seqs = await h.db.notificationEvent.findMany({ orderBy: { seq: 'asc' }, select: { eventId: true } });
    expect(ids).toEqual(seqs.map((e) => e.eventId));
    expect(hook.got.every(verified)).toBe(true);
  });

  it('an instance that lost the lease mid-pass posts nothing more; the new holder delivers the rest, each once', async () => {
    await admin.notifications.configure({ alertmanager: null, webhook: { url: hook.url, secret: SECRET } });
    await fire(4);
    const a = make('deliverer-a');
    let posts = 0;
    hook.onRequest = async () => {
      // After the second POST another instance holds the lease (a pause longer than the lease, a clock apart).
      if (++posts === 2)
        await h.db.notificationLease.update({
          where: { id: 1 },
          data: { holder: 'deliverer-elsewhere', expiresAt: new Date(clock + 60_000) },
        });
    };
    expect(await a.tick()).toMatchObject({ leader: true, webhook: 2 });
    expect(posts).toBe(2);
    expect((await admin.notifications.get()).delivery.webhook).toMatchObject({ pending: 2, consecutiveFailures: 0 });
    expect(await a.tick()).toEqual({ leader: false });
    expect(posts).toBe(2);
    // The other instance hands the lease back: the rest goes out, after what went before.
    await h.db.notificationLease.deleteMany({});
    expect(await a.tick()).toMatchObject({ leader: true, webhook: 2 });
    const ids = hook.events().map((e) => e.id);
    expect(new Set(ids).size).toBe(4);
    const seqs = await h.db.notificationEvent.findMany({ orderBy: { seq: 'asc' }, select: { eventId: true } });
    expect(ids).toEqual(seqs.map((e) => e.eventId));
  });

  it('a slow webhook holds up neither Alertmanager nor its re-send', async () => {
    await admin.notifications.configure({
      alertmanager: { url: am.origin },
      webhook: { url: hook.url, secret: SECRET },
    });
    await fire(3);
    const d = make('deliverer-a', { resendMs: 200, holdMs: 2_000 });
    // Slow enough that the webhook is still busy with its three events (3.6 s; the pass budget is 4 s)
    // while everything below happens, even with another test file running beside this one on two cores.
    hook.answer = { status: 200, delayMs: 1_200 };
    const t0 = Date.now();
    const pass = d.tick();
    await until('Alertmanager to get the firing alerts', () => am.got.length > 0, 3_000);
    const amAfterMs = Date.now() - t0;
    expect(hook.got.length).toBe(0);
    // The first Alertmanager pass has recorded its delivery and ended (a tick while it is still
    // finishing would share it instead of starting the re-send: that lost the race once under load).
    await until('the first Alertmanager pass to end', async () => {
      const row = await h.db.notificationChannel.findUnique({ where: { channel: 'alertmanager' } });
      return row?.lastSuccessAt != null;
    });
    await new Promise((ok) => setTimeout(ok, 50));
    // While the webhook still works through its events, the re-send falls due and goes out.
    clock += 250;
    const before = am.got.length;
    const again = d.tick();
    await until('the re-send', () => am.got.length > before, 2_500);
    expect(hook.got.length).toBeLessThan(3);
    await Promise.all([pass, again]);
    console.log(
      `[notifications] Alertmanager POST ${amAfterMs} ms after the tick began, webhook at 1,200 ms per event`,
    );
    expect(hook.events().map((e) => e.status)).toEqual(['firing', 'firing', 'firing']);
  });

  it('stop() while a receiver hangs returns within a second, hands the lease back and records no failure', async () => {
    await admin.notifications.configure({ alertmanager: null, webhook: { url: hook.url, secret: SECRET } });
    await fire(1);
    const d = make('deliverer-a', { timeoutMs: 4_000 });
    let asked = false;
    hook.onRequest = () => {
      asked = true;
    };
    hook.answer = { hang: true };
    const pass = d.tick();
    await until('the POST to reach the receiver', () => asked);
    expect(await h.db.notificationLease.count()).toBe(1);
    const t0 = Date.now();
    await d.stop();
    const stopMs = Date.now() - t0;
    console.log(`[notifications] stop() took ${stopMs} ms with a POST hanging`);
    expect(stopMs).toBeLessThan(1_000);
    await pass;
    expect(await h.db.notificationLease.count()).toBe(0);
    expect((await admin.notifications.get()).delivery.webhook).toMatchObject({
      pending: 1,
      consecutiveFailures: 0,
      lastError: null,
    });
    // Another instance takes over at once (no expiry to wait for) and delivers it.
    hook.answer = { status: 200 };
    expect(await make('deliverer-b').tick()).toMatchObject({ leader: true, webhook: 1 });
  });
});
