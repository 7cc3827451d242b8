/**
 * Alertmanager delivery and the HTTP rules of every POST, against node:http receivers on
 * 127.0.0.1: the re-send (before the hold passes, endsAt moving forward, never postponed by other
 * alerts' transitions), POSTs of at most 500 alerts, the backoff cap, a 400 recorded and not
 * retried, redirects not followed, an endless error body read only in part.
 */
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ALERTMANAGER_CHUNK } from '../src/domain/notifications/deliver-alertmanager';
import { createHarness, type THarness } from './harness';
import {
  deliverer,
  fleetAlert,
  receiver,
  resetNotifications,
  resolveAlert,
  SECRET,
  type TReceiver,
} from './notification-receivers';

describe.each(TEST_PROVIDERS)('notifications: Alertmanager and HTTP (%s)', (provider) => {
  let h: THarness;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let am: TReceiver;
  let hook: TReceiver;
  let clock = Date.now();
  const now = () => new Date(clock);
  let node = '';
  const running: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    h = await createHarness(provider);
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    am = await receiver('/');
    hook = await receiver();
    node = (await h.makeNodeToken('am-node')).nodeId;
  });
  afterEach(() => resetNotifications({ db: h.db, admin, running, receivers: [am, hook] }));
  afterAll(async () => {
    await am?.close();
    await hook?.close();
    await h?.close();
  });

  const make = (options = {}) => {
    const d = deliverer({ db: h.db, instanceId: 'deliverer-a', now, options });
    running.push(d);
    return d;
  };
  const channel = async (c: 'alertmanager' | 'webhook') =>
    h.db.notificationChannel.findUniqueOrThrow({ where: { channel: c } });

  it('re-sends the open alerts every resendMs, endsAt moving forward before the hold passes, while other alerts keep changing', async () => {
    await admin.notifications.configure({ alertmanager: { url: am.origin }, webhook: null });
    await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 0, firingAt: now() });
    const d = make({ resendMs: 10_000, holdMs: 30_000 });
    const start = clock;
    await d.tick();
    // Another GPU flaps every 2 s for 24 s: a transition pending at almost every tick.
    let flapping: string | null = null;
    for (let i = 0; i < 12; i++) {
      clock += 2_000;
      if (flapping) {
        await resolveAlert({ db: h.db, id: flapping, at: now() });
        flapping = null;
      } else flapping = await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 1, firingAt: now() });
      await d.tick();
    }
    const withX = am.got
      .map((g) => ({ at: g.at, alerts: g.json as { labels: Record<string, string>; endsAt: string }[] }))
      .map((p) => p.alerts.find((a) => a.labels.gpu === '0'))
      .filter((a) => a !== undefined)
      .map((a) => Date.parse(a.endsAt));
    // At start, then at +10 s and +20 s: each before the previous endsAt (start + 30 s), each later.
    expect(withX).toEqual([start + 30_000, start + 40_000, start + 50_000]);
    expect(am.got.length).toBeGreaterThanOrEqual(12);
    // The pending POSTs carried only the flapping GPU's transitions, not every open alert again.
    const flaps = am.got.slice(1).filter((g) => (g.json as unknown[]).length === 1);
    expect(flaps.length).toBeGreaterThanOrEqual(10);
  });

  it(`cuts a re-send of 1,200 open alerts into POSTs of at most ${ALERTMANAGER_CHUNK}`, async () => {
    await admin.notifications.configure({ alertmanager: { url: am.origin }, webhook: null });
    await h.db.alert.createMany({
      data: Array.from({ length: 1_200 }, (_, i) => ({
        id: `bulk-${i}`,
        kind: 'gpu_hot',
        nodeId: node,
        gpuIndex: i,
        state: 'firing',
        message: 'hot',
        startedAt: now(),
        firingAt: now(),
        openKey: `bulk-${i}`,
      })),
    });
    const d = make();
    expect(await d.tick()).toMatchObject({ appended: 1_200, alertmanager: 1_200 });
    const sizes = am.got.map((g) => (g.json as unknown[]).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(ALERTMANAGER_CHUNK);
    expect(new Set(am.alerts().map((a) => a.labels.gpu)).size).toBe(1_200);
    expect((await admin.notifications.get()).delivery.alertmanager).toMatchObject({ pending: 0 });
  });

  it('backs off no longer than min(resendMs, holdMs / 2) for Alertmanager; the webhook may wait the full cap', async () => {
    await admin.notifications.configure({
      alertmanager: { url: am.origin },
      webhook: { url: hook.url, secret: SECRET },
    });
    am.answer = hook.answer = { status: 503 };
    await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 0, firingAt: now() });
    const d = make({ backoffBaseMs: 1_000, backoffMaxMs: 300_000, resendMs: 30_000, holdMs: 40_000 });
    const waits = { alertmanager: [] as number[], webhook: [] as number[] };
    for (let i = 0; i < 12; i++) {
      await d.tick();
      const [a, w] = [await channel('alertmanager'), await channel('webhook')];
      waits.alertmanager.push(a.nextAttemptAt!.getTime() - a.lastAttemptAt!.getTime());
      waits.webhook.push(w.nextAttemptAt!.getTime() - w.lastAttemptAt!.getTime());
      clock = Math.max(a.nextAttemptAt!.getTime(), w.nextAttemptAt!.getTime());
    }
    expect(Math.max(...waits.alertmanager)).toBe(20_000);
    expect(waits.alertmanager.slice(0, 5)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
    expect(Math.max(...waits.webhook)).toBeGreaterThan(100_000);
  });

  it('a 400 (Alertmanager refused an alert of the batch, stored the rest) is recorded with its error and not retried', async () => {
    await admin.notifications.configure({ alertmanager: { url: am.origin }, webhook: null });
    let posts = 0;
    am.onRequest = () => {
      posts++;
    };
    am.answer = { status: 400, body: 'bad request: invalid label set' };
    await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 0, firingAt: now() });
    const d = make({ resendMs: 60_000 });
    await d.tick();
    const status = (await admin.notifications.get()).delivery.alertmanager!;
    expect(status).toMatchObject({ pending: 0, consecutiveFailures: 0, lastStatus: 400, nextAttemptAt: null });
    expect(status.lastError).toContain('HTTP 400: bad request: invalid label set');
    expect(status.lastError).toContain('not retried');
    expect((await channel('alertmanager')).failed).toBe(1n);
    clock += 5_000;
    await d.tick();
    expect(posts).toBe(1);
  });

  it('a redirect is not followed: the body and its signature never reach the other host', async () => {
    const other = await receiver('/elsewhere/secret-path');
    try {
      await admin.notifications.configure({ alertmanager: null, webhook: { url: hook.url, secret: SECRET } });
      hook.answer = { redirect: other.url };
      await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 0, firingAt: now() });
      await make().tick();
      expect(other.got).toEqual([]);
      const w = (await admin.notifications.get()).delivery.webhook!;
      expect(w).toMatchObject({ lastStatus: 307, consecutiveFailures: 1, pending: 1 });
      expect(w.lastError).toContain(`redirect to ${other.origin}/…`);
      expect(w.lastError).not.toContain('secret-path');
    } finally {
      await other.close();
    }
  });

  it('an error answer that never ends is read only in part: the attempt ends at once with its status', async () => {
    await admin.notifications.configure({ alertmanager: null, webhook: { url: hook.url, secret: SECRET } });
    hook.answer = { endless: 500 };
    await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 0, firingAt: now() });
    const t0 = Date.now();
    // A long timeout: reading the endless body to its end would run into it; reading 4 KB does not.
    await make({ timeoutMs: 15_000 }).tick();
    const took = Date.now() - t0;
    const w = (await admin.notifications.get()).delivery.webhook!;
    expect(w).toMatchObject({ lastStatus: 500, consecutiveFailures: 1 });
    expect(w.lastError).toMatch(/^HTTP 500: x+$/);
    expect(took).toBeLessThan(7_500);
  });
});
