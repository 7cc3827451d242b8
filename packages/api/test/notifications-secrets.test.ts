/**
 * A notification URL is a credential (a Slack incoming-webhook URL is nothing else): user info is
 * refused, the audit log a viewer reads shows origins and hashes only, and no delivery error or
 * test answer quotes a path, a query or a password, even for a URL stored before the refusal.
 */
import { TRPCError } from '@trpc/server';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type THarness } from './harness';
import { deliverer, fleetAlert, receiver, SECRET, type TReceiver } from './notification-receivers';

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof TRPCError)) throw new Error(`expected a TRPCError, got ${String(e)}`);
  return { code: e.code, message: e.message };
}

describe.each(TEST_PROVIDERS)('notifications: URLs as secrets (%s)', (provider) => {
  let h: THarness;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let viewer: Awaited<ReturnType<THarness['caller']>>;
  let hook: TReceiver;
  const path = '/services/T0000/B0000/XXXXslackTokenXXXX';

  beforeAll(async () => {
    h = await createHarness(provider);
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    viewer = await h.caller({ authorization: await h.makeToken('viewer') });
    hook = await receiver(path);
  });
  afterAll(async () => {
    await hook?.close();
    await h?.close();
  });

  it('refuses URLs that carry user:password@, naming the field and where credentials go instead', async () => {
    for (const [input, field] of [
      [{ alertmanager: { url: 'http://ops:hunter2@127.0.0.1:9093' }, webhook: null }, 'alertmanager.url'],
      [{ alertmanager: null, webhook: { url: 'https://bot@hooks.example/x', secret: SECRET } }, 'webhook.url'],
    ] as const) {
      const e = await refusal(admin.notifications.configure(input));
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message).toContain(field);
      expect(e.message).toContain('reverse proxy');
      expect(e.message).not.toContain('hunter2');
    }
  });

  it("the audit log a viewer reads shows each URL's origin and a hash of it, never its path or query", async () => {
    await admin.notifications.configure({
      alertmanager: { url: 'http://127.0.0.1:1/am/KEYPATH?token=QUERYTOKEN' },
      webhook: { url: hook.url, secret: SECRET },
      reason: 'first',
    });
    await admin.notifications.configure({
      alertmanager: { url: 'http://127.0.0.1:1/am/OTHERKEY' },
      webhook: { url: `${hook.url}?v=2`, secret: SECRET },
      reason: 'moved',
    });
    const { events } = await viewer.audit.list({ action: 'notifications.configure' });
    const text = JSON.stringify(events);
    for (const secret of ['XXXXslackTokenXXXX', 'T0000', 'KEYPATH', 'QUERYTOKEN', 'OTHERKEY', SECRET])
      expect(text).not.toContain(secret);
    const moved = events.find((e) => e.reason === 'moved')!;
    const details = (typeof moved.details === 'string' ? JSON.parse(moved.details) : moved.details) as {
      before: { webhook: { url: string; sha256: string } };
      after: { webhook: { url: string; sha256: string }; alertmanager: { url: string } };
    };
    expect(details.after.webhook.url).toBe(`${hook.origin}/…`);
    expect(details.after.alertmanager.url).toBe('http://127.0.0.1:1/…');
    // The change is traceable: same origin, another hash.
    expect(details.before.webhook.url).toBe(details.after.webhook.url);
    expect(details.before.webhook.sha256).not.toBe(details.after.webhook.sha256);
  });

  it('no delivery error, test answer or its audit row quotes the path, the query or a stored password', async () => {
    await admin.notifications.configure({ alertmanager: null, webhook: { url: hook.url, secret: SECRET } });
    // A receiver that echoes what was asked of it.
    hook.answer = { status: 404, body: `no such hook: POST ${hook.url} (${path})` };
    await fleetAlert({
      db: h.db,
      nodeId: (await h.makeNodeToken('secret-node')).nodeId,
      gpuIndex: 0,
      firingAt: new Date(),
    });
    const d = deliverer({ db: h.db, instanceId: 'deliverer-a', now: () => new Date() });
    await d.tick();
    await d.stop();
    const w = (await admin.notifications.get()).delivery.webhook!;
    expect(w.lastError).toContain('HTTP 404');
    expect(w.lastError).toContain(hook.origin);
    expect(w.lastError).not.toContain('XXXXslackTokenXXXX');
    // A URL with a password stored before configure refused them: fetch's error would quote it whole.
    await h.db.notificationConfig.update({
      where: { id: 1 },
      data: { webhookUrl: `http://ops:hunter2@127.0.0.1:${new URL(hook.url).port}${path}` },
    });
    const test = await admin.notifications.sendTest({ channel: 'webhook' });
    expect(test.results).toEqual([{ channel: 'webhook', ok: false, status: null, error: expect.any(String) }]);
    const audit = await h.db.auditEvent.findFirstOrThrow({ where: { action: 'notifications.send_test' } });
    for (const text of [JSON.stringify(test), audit.details!, w.lastError!]) {
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('XXXXslackTokenXXXX');
    }
  });
});
