/**
 * What becomes an outbox transition, and when, against node:http receivers: an alert that fired
 * and resolved between two ticks, idle ticks that read no alerts yet miss no change, guard steps
 * resolved at the time they were undone, and what a reconfigure does to what is pending: a new
 * webhook hears the alerts open now, a channel added again keeps its backlog (and says so), and a
 * pass in flight during a reconfigure writes nothing over the new address's state.
 */
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emptyRuleRuntime } from '../src/domain/guard/decide';
import { writeGuardEvents } from '../src/domain/guard/guard-events';
import { casGuardState, loadGuard } from '../src/domain/guard/guard-state';
import { createHarness, type THarness } from './harness';
import {
  deliverer,
  fleetAlert,
  receiver,
  resetNotifications,
  resolveAlert,
  SECRET,
  until,
  type TReceiver,
} from './notification-receivers';

describe.each(TEST_PROVIDERS)('notifications: reconcile and reconfigure (%s)', (provider) => {
  let h: THarness;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let hook: TReceiver;
  let clock = Date.now();
  const now = () => new Date(clock);
  let node = '';
  const running: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    h = await createHarness(provider);
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    hook = await receiver();
    node = (await h.makeNodeToken('reconcile-node')).nodeId;
  });
  afterEach(() => resetNotifications({ db: h.db, admin, running, receivers: [hook] }));
  afterAll(async () => {
    await hook?.close();
    await h?.close();
  });

  const make = () => {
    const d = deliverer({ db: h.db, instanceId: 'deliverer-a', now });
    running.push(d);
    return d;
  };
  const webhookOn = (url = hook.url) =>
    admin.notifications.configure({ alertmanager: null, webhook: { url, secret: SECRET } });
  const statuses = () => hook.events().map((e) => `${String(e.status)}:${String((e.labels as { gpu: string }).gpu)}`);

  it('an alert that fired and resolved between two ticks reaches the webhook as firing then resolved, with its own times', async () => {
    await webhookOn();
    const d = make();
    await d.tick();
    const firedAt = new Date(clock - 30_000);
    const resolvedAt = new Date(clock - 10_000);
    await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 3, firingAt: firedAt, resolvedAt });
    expect(await d.tick()).toMatchObject({ reconciled: 'changes', appended: 2, webhook: 2 });
    expect(statuses()).toEqual(['firing:3', 'resolved:3']);
    expect(hook.events()[1]).toMatchObject({ startsAt: firedAt.toISOString(), endsAt: resolvedAt.toISOString() });
    // A console that starts after it (a full pass) catches it up too, and once only.
    await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 4, firingAt: firedAt, resolvedAt });
    await d.stop();
    expect(await make().tick()).toMatchObject({ reconciled: 'full', appended: 2, webhook: 2 });
    expect(statuses()).toEqual(['firing:3', 'resolved:3', 'firing:4', 'resolved:4']);
  });

  it('an idle tick reads no alerts; every change after it is still seen', async () => {
    await webhookOn();
    const d = make();
    expect(await d.tick()).toMatchObject({ reconciled: 'full', appended: 0 });
    expect(await d.tick()).toMatchObject({ reconciled: 'skipped', appended: 0 });
    clock += 1_000;
    const a = await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 0, firingAt: now() });
    expect(await d.tick()).toMatchObject({ reconciled: 'changes', appended: 1, webhook: 1 });
    expect(await d.tick()).toMatchObject({ reconciled: 'skipped' });
    clock += 1_000;
    await resolveAlert({ db: h.db, id: a, at: now() });
    expect(await d.tick()).toMatchObject({ reconciled: 'changes', appended: 1, webhook: 1 });
    // Stamped by a clock a minute behind (another instance): the firing count moved, so it is seen.
    await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 1, firingAt: new Date(clock - 60_000) });
    expect(await d.tick()).toMatchObject({ appended: 1, webhook: 1 });
    expect(await d.tick()).toMatchObject({ reconciled: 'skipped' });
    expect(statuses()).toEqual(['firing:0', 'resolved:0', 'firing:1']);
  });

  it('a guard step resolves at the time it was undone, not when the notifier noticed', async () => {
    await webhookOn();
    const d = make();
    const stepAt = new Date(clock);
    const row = await loadGuard(h.db);
    const step = {
      step: 0,
      tier: 'free',
      action: 'pause' as const,
      status: 'applied' as const,
      at: stepAt.toISOString(),
      configVersion: 1,
    };
    const rules = {
      ...row.runtime.rules,
      'hot-gpus': { ...emptyRuleRuntime(), phase: 'tripped' as const, steps: [step] },
    };
    await casGuardState({ db: h.db, seq: row.seq, runtime: { ...row.runtime, rules } });
    await d.tick();
    expect(hook.events()).toEqual([expect.objectContaining({ status: 'firing', alertname: 'CoolantGuardStep' })]);
    // The guard steps back 40 s later (its state and its unstep event in one transaction, as guard-commit.ts writes them)…
    const undoneAt = new Date(clock + 40_000);
    const after = await loadGuard(h.db);
    const cleared = { ...after.runtime.rules, 'hot-gpus': { ...after.runtime.rules['hot-gpus']!, steps: [] } };
    await h.db.$transaction(async (tx) => {
      await casGuardState({ db: tx, seq: after.seq, runtime: { ...after.runtime, rules: cleared } });
      await writeGuardEvents({
        tx,
        events: [
          { kind: 'unstep', rule: 'hot-gpus', step: 0, tier: 'free', action: 'pause', message: 'step 1 undone' },
        ],
        guardVersion: 1,
        at: undoneAt,
        instanceId: 'guard-instance',
      });
    });
    // …and this notifier only looks 5 minutes later (it was down).
    clock += 300_000;
    await d.tick();
    expect(hook.events()[1]).toMatchObject({
      status: 'resolved',
      alertname: 'CoolantGuardStep',
      startsAt: stepAt.toISOString(),
      endsAt: undoneAt.toISOString(),
    });
  });

  it('a webhook configured while an alert fires hears its firing first, then its resolution', async () => {
    const d = make();
    const a = await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 2, firingAt: now() });
    await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 5, firingAt: now(), resolvedAt: now() });
    await d.tick();
    const set = await webhookOn();
    expect(set.delivery.webhook).toMatchObject({ pending: 1 });
    const audit = await h.db.auditEvent.findFirstOrThrow({
      where: { action: 'notifications.configure' },
      orderBy: { id: 'desc' },
    });
    expect(JSON.parse(audit.details!)).toMatchObject({ openAlertsSent: { webhook: 1 } });
    await d.tick();
    clock += 1_000;
    await resolveAlert({ db: h.db, id: a, at: now() });
    await d.tick();
    // Not the alert that had already resolved before it was configured.
    expect(statuses()).toEqual(['firing:2', 'resolved:2']);
  });

  it('a channel removed and configured again keeps what was pending for it, and says how much', async () => {
    await webhookOn();
    const d = make();
    hook.answer = { status: 500 };
    await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 0, firingAt: now() });
    await d.tick();
    expect((await admin.notifications.get()).delivery.webhook).toMatchObject({ pending: 1, consecutiveFailures: 1 });
    await admin.notifications.configure({ alertmanager: null, webhook: null });
    await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 1, firingAt: now() });
    await d.tick();
    const again = await webhookOn();
    expect(again.delivery.webhook).toMatchObject({ pending: 2, consecutiveFailures: 0, lastError: null });
    const audit = await h.db.auditEvent.findFirstOrThrow({
      where: { action: 'notifications.configure' },
      orderBy: { id: 'desc' },
    });
    expect(JSON.parse(audit.details!)).toMatchObject({ resumedPending: { webhook: 2 } });
    hook.answer = { status: 200 };
    await d.tick();
    expect(statuses()).toEqual(['firing:0', 'firing:1']);
  });

  it('a pass in flight during a reconfigure writes nothing over the new address: it is tried at once', async () => {
    const next = await receiver();
    try {
      await webhookOn();
      const d = make();
      await fleetAlert({ db: h.db, nodeId: node, gpuIndex: 0, firingAt: now() });
      let moved = false;
      hook.answer = { status: 500, delayMs: 20 };
      hook.onRequest = async () => {
        // While the old address is still answering (500), an admin points the webhook elsewhere.
        await webhookOn(next.url);
        moved = true;
      };
      await d.tick();
      await until('the reconfigure', () => moved);
      const row = await h.db.notificationChannel.findUniqueOrThrow({ where: { channel: 'webhook' } });
      expect(row).toMatchObject({ consecutiveFailures: 0, nextAttemptAt: null, failed: 1n });
      expect(await d.tick()).toMatchObject({ webhook: 1 });
      expect(next.events()).toEqual([expect.objectContaining({ status: 'firing' })]);
    } finally {
      await next.close();
    }
  });
  it('a pass stops posting to an address once the webhook was pointed elsewhere: the rest goes to the new one', async () => {
    const next = await receiver();
    try {
      await webhookOn();
      const d = make();
      for (let i = 0; i < 3; i++) await fleetAlert({ db: h.db, nodeId: node, gpuIndex: i, firingAt: now() });
      let moved = false;
      hook.onRequest = async () => {
        // The old address takes its first event (200), and an admin points the webhook elsewhere meanwhile.
        if (!moved) await webhookOn(next.url);
        moved = true;
      };
      await d.tick();
      expect(hook.events()).toHaveLength(1);
      await d.tick();
      expect(next.events().map((e) => (e.labels as { gpu: string }).gpu)).toEqual(['1', '2']);
      expect(hook.events()).toHaveLength(1);
    } finally {
      await next.close();
    }
  });
});
