import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRPCError } from '@trpc/server';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyRuleRuntime } from '../src/domain/guard/decide';
import { casGuardState, loadGuard } from '../src/domain/guard/guard-state';
import { signWebhook } from '../src/domain/guard/webhook';
import { NotificationService } from '../src/domain/notifications/notification-service';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

const SECRET = 'receiver-secret-0123456789';

type TReceived = { headers: IncomingHttpHeaders; body: string; json: Record<string, unknown> };

/** A webhook receiver on 127.0.0.1 answering `status` (changeable), keeping what it was sent. */
async function receiver(): Promise<{
  url: string;
  got: TReceived[];
  status: { code: number };
  close(): Promise<void>;
}> {
  const got: TReceived[] = [];
  const status = { code: 200 };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (status.code === 200)
        got.push({ headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(status.code, { 'content-type': 'text/plain' });
      res.end(status.code === 200 ? 'ok' : 'receiver is down for maintenance');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    got,
    status,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function verified(r: TReceived): boolean {
  const ts = String(r.headers['x-coolant-timestamp']);
  return r.headers['x-coolant-signature'] === signWebhook({ secret: SECRET, timestamp: ts, body: r.body });
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof TRPCError)) throw new Error(`expected a TRPCError, got ${String(e)}`);
  return { code: e.code, message: e.message };
}

describe.each(TEST_PROVIDERS)('notifications (%s)', (provider) => {
  let h: THarness;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let clock = Date.now();
  const now = () => new Date(clock);
  let seq = 0;

  beforeAll(async () => {
    h = await createHarness(provider);
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    hook = await receiver();
  });
  afterAll(async () => {
    await hook?.close();
    await h?.close();
  });

  /** A deliverer with this test's clock (backoff is passed by moving it, not by sleeping). */
  function deliverer(instanceId: string) {
    return new NotificationService({
      db: h.db,
      instanceId,
      now,
      options: { backoffBaseMs: 1_000, backoffMaxMs: 8_000, timeoutMs: 2_000 },
    });
  }

  it('configure: admin only, validated field by field, audited with its reason, never returns the secret', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const c = await h.caller({ authorization: await h.makeToken(role) });
      expect((await codeOf(c.notifications.get())).code).toBe('FORBIDDEN');
      expect((await codeOf(c.notifications.configure({ alertmanager: null, webhook: null }))).code).toBe('FORBIDDEN');
    }
    expect(await admin.notifications.get()).toMatchObject({
      version: 0,
      alertmanager: null,
      webhook: null,
      delivery: { alertmanager: null, webhook: null },
      active: [],
    });
    const bad = [
      [{ alertmanager: { url: 'ftp://am.example:9093' }, webhook: null }, 'alertmanager.url'],
      [{ alertmanager: { url: '/api/v2' }, webhook: null }, 'alertmanager.url'],
      [{ alertmanager: null, webhook: { url: 'hooks.example/x', secret: SECRET } }, 'webhook.url'],
      [{ alertmanager: null, webhook: { url: hook.url, secret: 'short' } }, 'webhook.secret'],
      [{ alertmanager: null, webhook: { url: hook.url } }, 'webhook.secret'],
    ] as const;
    for (const [input, field] of bad) {
      const e = await codeOf(admin.notifications.configure(input));
      expect(e.code, JSON.stringify(input)).toBe('BAD_REQUEST');
      expect(e.message).toContain(field);
    }
    const set = await admin.notifications.configure({
      alertmanager: { url: 'http://127.0.0.1:1' },
      webhook: { url: hook.url, secret: SECRET },
      reason: 'page the on-call',
    });
    expect(set).toMatchObject({
      version: 1,
      updatedBy: 't-admin',
      alertmanager: { url: 'http://127.0.0.1:1' },
      webhook: { url: hook.url, secretSet: true },
      delivery: { webhook: { pending: 0, consecutiveFailures: 0 }, alertmanager: { pending: 0 } },
    });
    // Secret omitted: the stored one is kept; nothing the API answers contains it.
    const kept = await admin.notifications.configure({ alertmanager: null, webhook: { url: hook.url } });
    expect(kept).toMatchObject({ version: 2, alertmanager: null, delivery: { alertmanager: null } });
    expect(JSON.stringify([set, kept, await admin.notifications.get()])).not.toContain(SECRET);
    expect((await h.db.notificationConfig.findUniqueOrThrow({ where: { id: 1 } })).webhookSecret).toBe(SECRET);
    const audit = await h.db.auditEvent.findMany({
      where: { action: 'notifications.configure' },
      orderBy: { id: 'asc' },
    });
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ actorName: 't-admin', reason: 'page the on-call', target: 'notifications' });
    // The audit log shows the origin and a hash of each URL (audit.list is a viewer procedure).
    expect(JSON.parse(audit[0]!.details!)).toMatchObject({
      before: { alertmanager: null, webhook: null },
      after: {
        alertmanager: { url: 'http://127.0.0.1:1', sha256: expect.stringMatching(/^[0-9a-f]{12}$/) },
        webhook: {
          url: `${new URL(hook.url).origin}/…`,
          sha256: expect.stringMatching(/^[0-9a-f]{12}$/),
          secretSet: true,
        },
      },
      secretChanged: true,
    });
    expect(audit.map((a) => a.details).join()).not.toContain(SECRET);
    // sendTest: the channel not configured is named; the configured one answers.
    const e = await codeOf(admin.notifications.sendTest({ channel: 'alertmanager' }));
    expect(e).toMatchObject({ code: 'BAD_REQUEST' });
    expect(e.message).toContain('alertmanager is not configured');
    const test = await admin.notifications.sendTest({ channel: 'all' });
    expect(test.results).toEqual([{ channel: 'webhook', ok: true, status: 200, error: null }]);
    const t = hook.got.pop()!;
    expect(verified(t)).toBe(true);
    expect(t.json).toMatchObject({ alertname: 'CoolantTestAlert', severity: 'info', status: 'firing' });
    expect(await h.db.auditEvent.count({ where: { action: 'notifications.send_test' } })).toBe(1);
  });

  it('webhook: a hot GPU fires and resolves, signed; a receiver answering 500 gets the events later, in order', async () => {
    await admin.fleet.setAlertRules({
      rules: {
        gpuHot: { enabled: true, temperatureC: 80, forSeconds: 0 },
        nodeOffline: { enabled: true },
        gpuMissing: { enabled: true, forSeconds: 30 },
        collectorFailing: { enabled: true, consecutiveReports: 3 },
      },
    });
    const n = await h.makeNodeToken('gpu-hot-1');
    const agent = await h.caller({ authorization: n.token });
    const report = async (temperatureGpu: number) => {
      await agent.agent.report({ intervalSeconds: 5, samples: [sample(++seq, [gpu(0), gpu(1, { temperatureGpu })])] });
      await h.services.fleet.evaluate();
    };
    const d = deliverer('deliverer-a');
    await report(91);
    expect(await d.tick()).toMatchObject({ leader: true, appended: 1, webhook: 1 });
    const firing = hook.got.shift()!;
    expect(verified(firing)).toBe(true);
    expect(firing.headers['x-coolant-event']).toBe('alert.firing');
    expect(firing.json).toMatchObject({
      status: 'firing',
      alertname: 'CoolantGpuHot',
      severity: 'critical',
      labels: {
        alertname: 'CoolantGpuHot',
        severity: 'critical',
        node: 'gpu-hot-1',
        node_id: expect.any(String),
        gpu: '1',
        model: 'NVIDIA H200',
      },
      endsAt: null,
    });
    expect(String(firing.json.text)).toContain('[FIRING] CoolantGpuHot');
    expect((await admin.notifications.get()).active).toEqual([
      expect.objectContaining({
        alertname: 'CoolantGpuHot',
        severity: 'critical',
        labels: expect.objectContaining({ gpu: '1' }),
      }),
    ]);
    await report(40);
    expect(await d.tick()).toMatchObject({ appended: 1, webhook: 1 });
    const resolved = hook.got.shift()!;
    expect(verified(resolved)).toBe(true);
    expect(resolved.json).toMatchObject({
      status: 'resolved',
      labels: firing.json.labels,
      startsAt: firing.json.startsAt,
    });
    expect(resolved.json.id).not.toBe(firing.json.id);
    expect((await admin.notifications.get()).active).toEqual([]);

    // The receiver fails: fire and resolve again meanwhile; both wait, with the failure visible.
    hook.status.code = 500;
    await report(95);
    await d.tick();
    await report(41);
    await d.tick();
    const down = (await admin.notifications.get()).delivery.webhook!;
    expect(down).toMatchObject({ pending: 2, consecutiveFailures: 1, lastStatus: 500 });
    expect(down.lastError).toContain('HTTP 500: receiver is down');
    expect(Date.parse(down.nextAttemptAt!)).toBe(clock + 1_000);
    clock += 1_000;
    await d.tick();
    expect((await admin.notifications.get()).delivery.webhook).toMatchObject({ pending: 2, consecutiveFailures: 2 });
    await d.tick(); // not due yet (2 s backoff): no attempt
    expect((await admin.notifications.get()).delivery.webhook).toMatchObject({ consecutiveFailures: 2 });
    // The console restarts meanwhile (a new instance): the pending events are in the database, not lost.
    await d.stop();
    const restarted = deliverer('deliverer-restarted');
    hook.status.code = 200;
    clock += 2_000;
    expect(await restarted.tick()).toMatchObject({ leader: true, appended: 0, webhook: 2 });
    expect(hook.got.map((g) => [g.json.status, g.json.alertname])).toEqual([
      ['firing', 'CoolantGpuHot'],
      ['resolved', 'CoolantGpuHot'],
    ]);
    expect(hook.got.every(verified)).toBe(true);
    expect((await admin.notifications.get()).delivery.webhook).toMatchObject({
      pending: 0,
      consecutiveFailures: 0,
      lastError: null,
      nextAttemptAt: null,
    });
    hook.got.length = 0;
    await restarted.stop();
  });

  it('guard: CoolantGuardStep fires while the guard holds a step and resolves when it is undone', async () => {
    const d = deliverer('deliverer-a');
    const row = await loadGuard(h.db);
    const at = new Date(clock).toISOString();
    const step = { step: 1, tier: 'free', action: 'pause' as const, status: 'applied' as const, at, configVersion: 1 };
    const rules = {
      ...row.runtime.rules,
      'hot-gpus': { ...emptyRuleRuntime(), phase: 'tripped' as const, steps: [step] },
    };
    const seqAfter = await casGuardState({ db: h.db, seq: row.seq, runtime: { ...row.runtime, rules } });
    expect(seqAfter).not.toBeNull();
    await d.tick();
    expect(hook.got.shift()!.json).toMatchObject({
      status: 'firing',
      alertname: 'CoolantGuardStep',
      labels: { tier: 'free', rule: 'hot-gpus', action: 'pause', step: '2', severity: 'warning' },
    });
    const after = await loadGuard(h.db);
    const cleared = { ...after.runtime.rules, 'hot-gpus': { ...after.runtime.rules['hot-gpus']!, steps: [] } };
    await casGuardState({ db: h.db, seq: after.seq, runtime: { ...after.runtime, rules: cleared } });
    await d.tick();
    expect(hook.got.shift()!.json).toMatchObject({ status: 'resolved', alertname: 'CoolantGuardStep' });
    expect(hook.got).toEqual([]);
    await d.stop();
  });

  it('two deliverers on one database: only the lease holder posts, each transition once; the other takes over on stop', async () => {
    const a = deliverer('deliverer-a');
    const b = deliverer('deliverer-b');
    const n = await h.makeNodeToken('gpu-two-1');
    const agent = await h.caller({ authorization: n.token });
    await agent.agent.report({ intervalSeconds: 5, samples: [sample(++seq, [gpu(0, { temperatureGpu: 99 })])] });
    await h.services.fleet.evaluate();
    const ticks = await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    expect(ticks.filter((t) => t.leader).length).toBeGreaterThan(0);
    const leaders = [await a.tick(), await b.tick()].map((t) => t.leader);
    expect(leaders.filter(Boolean)).toHaveLength(1);
    expect(hook.got.map((g) => g.json.labels)).toEqual([expect.objectContaining({ node: 'gpu-two-1' })]);
    const holder = leaders[0] ? a : b;
    const other = leaders[0] ? b : a;
    await holder.stop();
    await agent.agent.report({ intervalSeconds: 5, samples: [sample(++seq, [gpu(0, { temperatureGpu: 40 })])] });
    await h.services.fleet.evaluate();
    expect(await other.tick()).toMatchObject({ leader: true, webhook: 1 });
    expect(hook.got.map((g) => g.json.status)).toEqual(['firing', 'resolved']);
    await other.stop();
  });
  it('configure with expectedVersion: an edit begun before someone else changed the config is a CONFLICT and changes nothing', async () => {
    const start = await admin.notifications.get();
    const other = await h.caller({ authorization: await h.makeToken('admin') });
    // Another admin replaces the webhook (a leaked URL) meanwhile.
    const changed = await other.notifications.configure({
      alertmanager: start.alertmanager,
      webhook: { url: 'https://hooks.example.com/replaced', secret: 'a-replaced-secret-0123' },
      expectedVersion: start.version,
    });
    expect(changed.version).toBe(start.version + 1);
    // This admin's page still shows the old state: saving Alertmanager would put the old webhook back.
    const stale = await codeOf(
      admin.notifications.configure({
        alertmanager: { url: 'http://127.0.0.1:9/' },
        webhook: start.webhook ? { url: start.webhook.url } : null,
        expectedVersion: start.version,
      }),
    );
    expect(stale.code).toBe('CONFLICT');
    expect(stale.message).toMatch(new RegExp(`expectedVersion: .*version ${start.version + 1}, not ${start.version}`));
    expect(await admin.notifications.get()).toMatchObject({
      version: start.version + 1,
      webhook: { url: 'https://hooks.example.com/replaced' },
    });
    await admin.notifications.configure({ alertmanager: null, webhook: null, expectedVersion: start.version + 1 });
  });
});
