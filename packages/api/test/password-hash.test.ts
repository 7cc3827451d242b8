// scrypt at OWASP's work factor, with hashes of older parameters still verifying and upgraded at
// the next successful sign-in, on real SQLite and PostgreSQL.
import { randomBytes, scrypt } from 'node:crypto';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, SCRYPT_PARAMS, verifyPassword } from '../src/lib/secrets';
import { createHarness, type THarness } from './harness';

/** A hash as the console wrote it before the work factor was raised (N=2^15). */
async function legacyHash(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (e, k) =>
      e ? reject(e) : resolve(k),
    ),
  );
  return ['scrypt', 32768, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
}

describe('password hashes', () => {
  it('are made with N=2^17, r=8, p=1 (OWASP) and verify', async () => {
    expect(SCRYPT_PARAMS.N).toBeGreaterThanOrEqual(2 ** 17);
    const stored = await hashPassword('correct horse battery');
    expect(stored.startsWith(`scrypt$${2 ** 17}$8$1$`)).toBe(true);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('wrong horse battery', stored)).toBe(false);
    expect(needsRehash(stored)).toBe(false);
  });

  it('of older parameters still verify and are marked for re-hashing', async () => {
    const old = await legacyHash('correct horse battery');
    expect(await verifyPassword('correct horse battery', old)).toBe(true);
    expect(needsRehash(old)).toBe(true);
    expect(await verifyPassword('x', 'not a hash')).toBe(false);
  });

  it('asking for more memory than allowed are refused, not computed', async () => {
    await expect(verifyPassword('x', `scrypt$${2 ** 24}$8$1$AAAA$AAAA`)).rejects.toThrow(/too much memory/);
  });
});

describe.each(TEST_PROVIDERS)('re-hash at sign-in (%s)', (provider) => {
  let h: THarness;
  beforeAll(async () => {
    h = await createHarness(provider);
  });
  afterAll(() => h.close());

  it("an old-parameter hash signs in and is re-hashed with today's parameters", async () => {
    const old = await legacyHash('legacy password 1');
    const user = await h.db.user.create({
      data: { username: `legacy-${randomBytes(3).toString('hex')}`, role: 'viewer', passwordHash: old },
    });
    await (await h.caller()).auth.login({ username: user.username, password: 'legacy password 1' });
    const after = await h.db.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after.passwordHash).not.toBe(old);
    expect(after.passwordHash.startsWith(`scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$`)).toBe(
      true,
    );
    // The new hash is the same password, and is not re-hashed again.
    await (await h.caller()).auth.login({ username: user.username, password: 'legacy password 1' });
    expect((await h.db.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash).toBe(after.passwordHash);
  });
});
