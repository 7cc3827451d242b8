import type { TDb } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { isRole } from '../../lib/roles';
import { DUMMY_PASSWORD_HASH, newSecret, sha256, verifyPassword } from '../../lib/secrets';
import { recordAudit } from '../audit/record-audit';

export const SESSION_TTL_SECONDS = 12 * 60 * 60;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_USER = 5;
export const MAX_FAILURES_PER_IP = 20;

export type TLoginRequest = {
  db: TDb;
  username: string;
  password: string;
  ip: string | null;
  userAgent: string | null;
  now: Date;
};

/**
 * Failed attempts are counted from the audit log, so the limit holds across
 * console instances sharing one database and survives restarts.
 */
async function assertNotRateLimited(req: TLoginRequest): Promise<void> {
  const since = new Date(req.now.getTime() - LOGIN_WINDOW_MS);
  const [byUser, byIp] = await Promise.all([
    req.db.auditEvent.count({ where: { action: 'auth.login_failed', target: req.username, at: { gte: since } } }),
    req.ip ? req.db.auditEvent.count({ where: { action: 'auth.login_failed', ip: req.ip, at: { gte: since } } }) : 0,
  ]);
  if (byUser >= MAX_FAILURES_PER_USER || byIp >= MAX_FAILURES_PER_IP) {
    await recordAudit({ db: req.db, actor: { kind: 'anonymous' }, action: 'auth.login_throttled', target: req.username, ip: req.ip, at: req.now });
    throw new AppError('TOO_MANY_REQUESTS', 'Too many failed sign-in attempts; wait 15 minutes and try again');
  }
}

export async function login(req: TLoginRequest) {
  await assertNotRateLimited(req);
  const user = await req.db.user.findUnique({ where: { username: req.username } });
  // Verify against a dummy hash for unknown users so timing does not reveal which usernames exist.
  const ok = await verifyPassword(req.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok || user.disabledAt || !isRole(user.role)) {
    await recordAudit({
      db: req.db,
      actor: { kind: 'anonymous' },
      action: 'auth.login_failed',
      target: req.username,
      reason: !user ? 'unknown user' : user.disabledAt ? 'account disabled' : 'wrong password',
      ip: req.ip,
      at: req.now,
    });
    throw new AppError('UNAUTHORIZED', 'Wrong username or password');
  }
  const secret = newSecret('cs');
  const expiresAt = new Date(req.now.getTime() + SESSION_TTL_SECONDS * 1000);
  const session = await req.db.session.create({
    data: { id: sha256(secret), userId: user.id, expiresAt, ip: req.ip, userAgent: req.userAgent?.slice(0, 300) ?? null },
  });
  await recordAudit({
    db: req.db,
    actor: { kind: 'user', id: user.id, name: user.username, role: user.role, sessionId: session.id },
    action: 'auth.login',
    target: user.username,
    ip: req.ip,
    at: req.now,
  });
  // Expired sessions are pruned at login so the table stays bounded without a timer.
  await req.db.session.deleteMany({ where: { expiresAt: { lt: req.now } } });
  return { secret, expiresAt, user: { id: user.id, username: user.username, role: user.role } };
}
