// Users for throttling and audit tests, whose stored hash uses a tiny scrypt factor: a wrong
// guess is verified with the stored parameters, so it costs ~1 ms instead of ~400 ms at
// N=2^17. Only the tests write such hashes; the console itself only ever writes SCRYPT_PARAMS,
// and re-hashes these at the first successful sign-in (test/password-hash.test.ts).
import { randomBytes, scryptSync } from 'node:crypto';
import type { TRole } from '../src/lib/roles';
import type { THarness } from './harness';

export function cheapHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 });
  return ['scrypt', 1024, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function makeCheapUser(h: THarness, role: TRole, password = 'correct horse battery') {
  const username = `${role}-${randomBytes(4).toString('hex')}`;
  const user = await h.db.user.create({ data: { username, role, passwordHash: cheapHash(password) } });
  return { id: user.id, username, password };
}
