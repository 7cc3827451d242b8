/**
 * Admin mutations that used to be several router steps (revoke then announce, rotate then audit)
 * are one domain transaction now: when the audit row cannot be written, nothing of the change
 * stays, and a revocation commits with the config-version bump that makes instances re-check credentials.
 */
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../src/lib/secrets';
import { createHarness, type THarness } from './harness';

describe.each(TEST_PROVIDERS)('admin mutations are one transaction (%s)', (provider) => {
  let h: THarness;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  beforeAll(async () => {
    h = await createHarness(provider);
    admin = await h.caller({ authorization: await h.makeToken('admin') });
  });
  afterAll(() => h.close());
  afterEach(() => allowAudit());

  /** Makes the database refuse audit rows of this action, as a full disk or a lost connection would. */
  async function refuseAudit(action: string): Promise<void> {
    if (provider === 'sqlite') {
      await h.db.$executeRawUnsafe(
        `CREATE TRIGGER refuse_audit BEFORE INSERT ON "AuditEvent" WHEN NEW."action" = '${action}' BEGIN SELECT RAISE(ABORT, 'audit refused'); END`,
      );
    } else {
      await h.db.$executeRawUnsafe(
        `CREATE OR REPLACE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN IF NEW."action" = '${action}' THEN RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
      );
      await h.db.$executeRawUnsafe(
        'CREATE TRIGGER refuse_audit BEFORE INSERT ON "AuditEvent" FOR EACH ROW EXECUTE FUNCTION refuse_audit()',
      );
    }
  }
  async function allowAudit(): Promise<void> {
    if (provider === 'sqlite') await h.db.$executeRawUnsafe('DROP TRIGGER IF EXISTS refuse_audit');
    else await h.db.$executeRawUnsafe('DROP TRIGGER IF EXISTS refuse_audit ON "AuditEvent"');
  }
  const configVersion = async () => (await h.db.configState.findUniqueOrThrow({ where: { id: 1 } })).version;

  it('fleet.revokeNode: no audit row, no revocation and no version bump; on success all three together', async () => {
    const { nodeId } = await h.makeNodeToken('gpu-atomic');
    const before = await configVersion();
    await refuseAudit('node.revoke');
    await expect(admin.fleet.revokeNode({ id: nodeId, reason: 'test' })).rejects.toThrow();
    expect((await h.db.node.findUniqueOrThrow({ where: { id: nodeId } })).revokedAt).toBeNull();
    expect(await configVersion()).toBe(before);
    await allowAudit();
    await admin.fleet.revokeNode({ id: nodeId, reason: 'test' });
    expect((await h.db.node.findUniqueOrThrow({ where: { id: nodeId } })).revokedAt).not.toBeNull();
    expect(await configVersion()).toBe(before + 1);
    const audit = await h.db.auditEvent.findFirstOrThrow({ where: { action: 'node.revoke', target: nodeId } });
    expect(JSON.parse(audit.details!)).toMatchObject({ hostname: 'gpu-atomic', configVersion: before + 1 });
  });

  it('tokens.revoke: no audit row, no revocation; the revoked token is refused at once after success', async () => {
    const bearer = await h.makeToken('viewer');
    const token = await h.db.apiToken.findFirstOrThrow({
      where: { tokenHash: sha256(bearer.slice('Bearer '.length)) },
    });
    const viewer = await h.caller({ authorization: bearer });
    await viewer.fleet.list();
    await refuseAudit('token.revoke');
    await expect(admin.tokens.revoke({ id: token.id })).rejects.toThrow();
    expect((await h.db.apiToken.findUniqueOrThrow({ where: { id: token.id } })).revokedAt).toBeNull();
    await allowAudit();
    await admin.tokens.revoke({ id: token.id });
    // The version bump committed with the revocation cleared this instance's credential cache.
    await expect(h.caller({ authorization: bearer }).then((c) => c.fleet.list())).rejects.toThrow(/revoked/);
  });

  it('agent.enroll: no audit row, no node; on success the node and its audit row together', async () => {
    const { enrollToken } = await admin.system.enrollment();
    const anonymous = await h.caller({});
    await refuseAudit('node.enroll');
    await expect(anonymous.agent.enroll({ enrollToken, hostname: 'gpu-enroll-atomic' })).rejects.toThrow();
    expect(await h.db.node.count({ where: { hostname: 'gpu-enroll-atomic' } })).toBe(0);
    await allowAudit();
    const { nodeId } = await anonymous.agent.enroll({ enrollToken, hostname: 'gpu-enroll-atomic' });
    expect(await h.db.auditEvent.count({ where: { action: 'node.enroll', target: nodeId } })).toBe(1);
  });

  it('tokens.create: no audit row, no token', async () => {
    await refuseAudit('token.create');
    await expect(admin.tokens.create({ name: 'atomic-create', role: 'viewer' })).rejects.toThrow();
    expect(await h.db.apiToken.count({ where: { name: 'atomic-create' } })).toBe(0);
  });

  it('system.rotateEnrollment: no audit row, the old secret stays', async () => {
    const { enrollToken: before } = await admin.system.enrollment();
    await refuseAudit('enrollment.rotate');
    await expect(admin.system.rotateEnrollment()).rejects.toThrow();
    expect((await admin.system.enrollment()).enrollToken).toBe(before);
    await allowAudit();
    const { enrollToken } = await admin.system.rotateEnrollment();
    expect(enrollToken).not.toBe(before);
    expect(await h.db.auditEvent.count({ where: { action: 'enrollment.rotate' } })).toBe(1);
  });

  it('fleet.setAlertRules: no audit row, the old rules stay', async () => {
    const before = await admin.fleet.alertRules();
    await refuseAudit('alerts.update_rules');
    const rules = { ...before, gpuHot: { ...before.gpuHot, temperatureC: 99 } };
    await expect(admin.fleet.setAlertRules({ rules })).rejects.toThrow();
    expect(await admin.fleet.alertRules()).toEqual(before);
  });
});
