/**
 * Every procedure's real answer, through the router's caller on each
 * database, read against its output schema (procedure-outputs.ts): nothing
 * parses answers in production, so this is where a schema that the compiler
 * accepts but the values break (a float where it says integer, a key the
 * static type hid) would show. An answer must parse and come out unchanged
 * (a key the schema does not name is stripped by the parse, so it would
 * differ). A procedure added without a call here fails the coverage check.
 */
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCEDURE_OUTPUTS } from '../src/openapi/procedure-outputs';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

describe.each(TEST_PROVIDERS)('every answer reads as its output schema says (%s)', (provider) => {
  let h: THarness;
  beforeAll(async () => {
    h = await createHarness(provider);
  });
  afterAll(() => h.close());

  const checked = new Set<string>();
  /** The answer as the wire carries it (JSON), parsed by its schema and unchanged by that. */
  function expectDocumented<T>(path: string, value: T): T {
    const schema = PROCEDURE_OUTPUTS.get(path);
    expect(schema, `${path} has no output schema`).toBeDefined();
    const wire: unknown = JSON.parse(JSON.stringify(value) ?? 'null');
    const parsed = schema!.safeParse(wire);
    expect(parsed.error?.issues ?? [], path).toEqual([]);
    expect(parsed.data, `${path}: a key the schema does not name`).toEqual(wire);
    checked.add(path);
    return value;
  }

  it('for all procedures', async () => {
    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    const gateway = await h.caller({ authorization: await h.makeToken('gateway') });
    const anonymous = await h.caller();
    const d = expectDocumented;

    d('system.info', await anonymous.system.info());
    d('auth.me', await anonymous.auth.me());
    d('auth.me', await gateway.auth.me());
    const user = await h.makeUser('admin');
    d('auth.login', await anonymous.auth.login({ username: user.username, password: user.password }));
    const cookie = h.cookies[0]!.split(';')[0]!;
    const session = await h.caller({ cookie });
    d('auth.me', await session.auth.me());
    d('auth.logout', await session.auth.logout());

    const created = d(
      'users.create',
      await admin.users.create({ username: 'schema-user', password: '0123456789ab', role: 'viewer' }),
    );
    d('users.update', await admin.users.update({ id: created.id, disabled: true }));
    d('users.list', await admin.users.list());
    const token = d('tokens.create', await admin.tokens.create({ name: 'schema token', role: 'viewer' }));
    d('tokens.revoke', await admin.tokens.revoke({ id: token.id }));
    d('tokens.list', await admin.tokens.list({ includeRevoked: true }));

    // Capacity off, so a lease is bounded only by concurrency and the lease answers below are grants.
    d('capacity.configure', await admin.capacity.configure({ enabled: false, reason: 'schema test' }));
    d('capacity.get', await admin.capacity.get());
    d('capacity.history', await admin.capacity.history({ minutes: 60 }));

    const enrollToken = d('system.enrollment', await admin.system.enrollment()).enrollToken;
    const enrolled = d('agent.enroll', await anonymous.agent.enroll({ enrollToken, hostname: 'schema-node' }));
    const node = await h.caller({ authorization: `Bearer ${enrolled.nodeToken}` });
    d('agent.report', await node.agent.report({ intervalSeconds: 5, samples: [sample(1, [gpu(0), gpu(1)])] }));
    d('agent.sequence', await node.agent.sequence());
    d('fleet.list', await admin.fleet.list({ includeRevoked: true }));
    d('fleet.node', await admin.fleet.node({ id: enrolled.nodeId }));
    const rules = d('fleet.alertRules', await admin.fleet.alertRules());
    d('fleet.setAlertRules', await admin.fleet.setAlertRules({ rules }));

    const smoke = d('smoke.run', await admin.smoke.run({ target: enrolled.nodeId, prompt: 'SCHEMA', seed: 1 }));
    const { job } = d('agent.nextJob', await node.agent.nextJob({ waitMs: 0 }));
    expect(job?.id).toBe(smoke.runs[0]!.id);
    d('agent.jobResult', await node.agent.jobResult({ jobId: job!.id, error: 'schema test: not drawn' }));
    d('agent.nextJob', await node.agent.nextJob({ waitMs: 0 }));
    d('smoke.get', await admin.smoke.get({ id: job!.id }));
    d('smoke.list', await admin.smoke.list({ limit: 10 }));

    d('tiers.create', await admin.tiers.create({ name: 'schema-tier' }));
    d('tiers.setLimit', await admin.tiers.setLimit({ tier: 'schema-tier', window: 'day', limit: 5 }));
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const temp = { tier: 'schema-tier', window: 'day' as const, limit: 2, until, reason: 'schema test' };
    d('tiers.setTemporaryLimit', await admin.tiers.setTemporaryLimit(temp));
    d('tiers.list', await admin.tiers.list({ includeRetired: true }));
    d('tiers.clearTemporaryLimit', await admin.tiers.clearTemporaryLimit({ tier: 'schema-tier', window: 'day' }));
    d('tiers.setConcurrency', await admin.tiers.setConcurrency({ tier: 'schema-tier', perTier: 3 }));
    d('tiers.pause', await admin.tiers.pause({ tier: 'schema-tier', reason: 'schema test', resumeAt: until }));
    d('tiers.list', await admin.tiers.list());
    d('tiers.resume', await admin.tiers.resume({ tier: 'schema-tier' }));
    d('tiers.update', await admin.tiers.update({ tier: 'schema-tier', failMode: 'open' }));

    const allowed = d('admission.consume', await gateway.admission.consume({ tier: 'schema-tier', subject: 's1' }));
    expect(allowed.allowed).toBe(true);
    d('admission.refund', await gateway.admission.refund({ ticket: allowed.ticket! }));
    const leased = d(
      'admission.consume',
      await gateway.admission.consume({ tier: 'schema-tier', subject: 's2', lease: { ttlSeconds: 60 } }),
    );
    expect(leased.lease?.id).toEqual(expect.any(String));
    d('admission.heartbeat', await gateway.admission.heartbeat({ lease: leased.lease!.id, ttlSeconds: 120 }));
    d('admission.release', await gateway.admission.release({ lease: leased.lease!.id, outcome: 'failed' }));
    d('admission.heartbeat', await gateway.admission.heartbeat({ lease: leased.lease!.id }));
    d('admission.consume', await gateway.admission.consume({ tier: 'no-such-tier', subject: 's3' }));

    const guard = d('guard.get', await admin.guard.get());
    d('guard.get', await admin.guard.get({ brief: true }));
    d(
      'guard.update',
      await admin.guard.update({
        config: { ...guard.config, webhook: null, intervalSeconds: 1 },
        reason: 'schema test',
      }),
    );
    d('guard.arm', await admin.guard.arm({ reason: 'schema test' }));
    // A drill waits for the deciding instance: this harness runs no loop, so one evaluation is ticked by hand.
    const [drill] = await Promise.all([
      admin.guard.drill({ live: false }),
      new Promise((r) => setTimeout(r, 50)).then(() => h.services.guard.tick()),
    ]);
    expect(drill.state).toBe('done');
    d('guard.drill', drill);
    d('guard.disarm', await admin.guard.disarm({ reason: 'schema test' }));
    d('guard.history', await admin.guard.history());

    d('notifications.get', await admin.notifications.get());
    const closed = { alertmanager: { url: 'http://127.0.0.1:9' }, webhook: null };
    d('notifications.configure', await admin.notifications.configure(closed));
    d('notifications.sendTest', await admin.notifications.sendTest({ channel: 'alertmanager' }));
    d('notifications.get', await admin.notifications.get());

    d('system.rotateEnrollment', await admin.system.rotateEnrollment());
    d('fleet.revokeNode', await admin.fleet.revokeNode({ id: enrolled.nodeId, reason: 'schema test' }));
    d('audit.list', await admin.audit.list({ limit: 50 }));

    expect([...checked].sort()).toEqual([...PROCEDURE_OUTPUTS.keys()].sort());
  });
});
