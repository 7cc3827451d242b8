/**
 * COOLANT_ADMIN_TOKEN guarantees an admin token at start, but a token an admin revoked stays
 * revoked across restarts (ensureEnvAdminToken runs at every start).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, TEST_PROVIDERS } from '@coolant/db/testing';
import { ensureEnrollmentSecret, ensureEnvAdminToken } from '../src/domain/system/bootstrap';
import { createHarness, type THarness } from './harness';

const SECRET = 'env-admin-secret-0123456789abcdef';

describe.each(TEST_PROVIDERS)('COOLANT_ADMIN_TOKEN (%s)', (provider) => {
  let h: THarness;
  beforeAll(async () => {
    h = await createHarness(provider);
  });
  afterAll(() => h.close());

  const me = async () =>
    (await h.caller({ authorization: `Bearer ${SECRET}` })).auth.me().catch((e: { code: string }) => e.code);

  it('is created once, and a revoked one stays revoked at the next start', async () => {
    expect(await ensureEnvAdminToken({ db: h.db, secret: SECRET })).toBe('created');
    expect(await me()).toMatchObject({ kind: 'token', role: 'admin' });
    expect(await ensureEnvAdminToken({ db: h.db, secret: SECRET })).toBe('present');
    expect(await h.db.apiToken.count({ where: { fromEnv: true } })).toBe(1);

    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    const token = (await admin.tokens.list()).find((t) => t.fromEnv)!;
    await admin.tokens.revoke({ id: token.id, reason: 'secret leaked' });
    expect(await me()).toBe('UNAUTHORIZED');

    // A restart with the variable still set.
    expect(await ensureEnvAdminToken({ db: h.db, secret: SECRET })).toBe('revoked');
    expect(await me()).toBe('UNAUTHORIZED');
    expect(await h.db.apiToken.findUniqueOrThrow({ where: { id: token.id } })).toMatchObject({
      revokedBy: expect.any(String),
    });
    expect((await h.db.apiToken.findUniqueOrThrow({ where: { id: token.id } })).revokedAt).not.toBeNull();
  });

  it('two starts at once on one database make one token', async () => {
    const secret = `${SECRET}-concurrent`;
    const results = await Promise.all([
      ensureEnvAdminToken({ db: h.db, secret }),
      ensureEnvAdminToken({ db: h.db, secret }),
    ]);
    expect(results.sort()).toEqual(['created', 'present']);
    expect(
      await h.db.apiToken.count({
        where: { prefix: secret.slice(0, 7), name: 'COOLANT_ADMIN_TOKEN', fromEnv: true, revokedAt: null },
      }),
    ).toBe(1);
  });
});

describe.each(TEST_PROVIDERS)('the generated enrollment secret (%s)', (provider) => {
  it('a burst of first enrollments on a fresh database agrees on one secret, none fails', async () => {
    const testDb = await createTestDb(provider);
    try {
      const secrets = await Promise.all(Array.from({ length: 100 }, () => ensureEnrollmentSecret({ db: testDb.db })));
      expect(new Set(secrets).size).toBe(1);
      expect(await testDb.db.setting.count({ where: { key: 'enrollment.secret' } })).toBe(1);
    } finally {
      await testDb.cleanup();
    }
  });
});
