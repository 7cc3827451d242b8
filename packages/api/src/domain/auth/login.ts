/**
 * Password sign-in: throttled per (username, IP) and IP before the password is checked
 * (login-throttle.ts); a success creates the session and its audit row in one transaction.
 */
import type { TDb, TDbProvider } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { isRole } from '../../lib/roles';
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, newSecret, sha256, verifyPassword } from '../../lib/secrets';
import { recordAnonymousFailure } from '../audit/record-anonymous-failure';
import type { PruneSchedule } from '../audit/prune-schedule';
import { recordAudit } from '../audit/record-audit';
import {
  claimAttempt,
  clearKey,
  FREE_FAILURES_PER_IP,
  FREE_FAILURES_PER_USER_IP,
  giveBackAttempt,
  ipKey,
  pruneLoginThrottle,
  retryAfterSeconds,
  userIpKey,
  userKey,
  userSlowdownMs,
  type TThrottleDb,
} from './login-throttle';

export const SESSION_TTL_SECONDS = 12 * 60 * 60;

export type TLoginRequest = {
  db: TDb;
  provider: TDbProvider;
  username: string;
  password: string;
  ip: string | null;
  userAgent: string | null;
  now: Date;
  /** The services' prune schedule (services.pruning). */
  pruning: PruneSchedule;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

async function refuse(req: TLoginRequest, key: string): Promise<never> {
  const seconds = await retryAfterSeconds({ db: req.db, key, now: req.now });
  await recordAnonymousFailure({
    db: req.db,
    action: 'auth.login_throttled',
    target: req.username,
    reason: 'too many failures',
    ip: req.ip,
    at: req.now,
    pruning: req.pruning,
  });
  throw new AppError('TOO_MANY_REQUESTS', `Too many failed sign-in attempts; try again in ${waitText(seconds)}`, {
    retryAfterSeconds: seconds,
  });
}

/**
 * Claims this attempt on the (username, IP) and the IP budgets before the password is checked,
 * so parallel guesses cannot outrun the count (see login-throttle.ts).
 */
async function claim(req: TLoginRequest, t: TThrottleDb): Promise<void> {
  const { now } = req;
  await pruneLoginThrottle({ db: req.db, now, pruning: req.pruning }).catch(() => 0);
  const ui = userIpKey({ username: req.username, ip: req.ip });
  if ((await claimAttempt({ ...t, key: ui, free: FREE_FAILURES_PER_USER_IP, now })) === null) await refuse(req, ui);
  if ((await claimAttempt({ ...t, key: ipKey(req.ip), free: FREE_FAILURES_PER_IP, now })) === null) {
    await giveBackAttempt({ db: req.db, key: ui });
    await refuse(req, ipKey(req.ip));
  }
}

export async function login(req: TLoginRequest) {
  // Usernames match exactly (case-sensitive, as stored); surrounding spaces are not part of one.
  const username = req.username.trim();
  const r = { ...req, username };
  const t: TThrottleDb = { db: req.db, provider: req.provider };
  await claim(r, t);
  const slow = await userSlowdownMs({ db: req.db, username, now: req.now });
  if (slow > 0) await sleep(slow);
  const user = await req.db.user.findUnique({ where: { username } });
  // Verify against a dummy hash for unknown users so timing does not reveal which usernames exist.
  const ok = await verifyPassword(req.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok || user.disabledAt || !isRole(user.role)) {
    // The claim already counted this failure; the username's own count only slows, so it is kept after the fact.
    await claimAttempt({ ...t, key: userKey(username), free: null, now: req.now });
    await recordAnonymousFailure({
      db: req.db,
      action: 'auth.login_failed',
      target: username,
      reason: !user ? 'unknown user' : user.disabledAt ? 'account disabled' : 'wrong password',
      ip: req.ip,
      at: req.now,
      pruning: req.pruning,
    });
    throw new AppError('UNAUTHORIZED', 'Wrong username or password');
  }
  await clearKey({ db: req.db, key: userIpKey({ username, ip: req.ip }) });
  await giveBackAttempt({ db: req.db, key: ipKey(req.ip) });
  if (needsRehash(user.passwordHash)) {
    // Only if the hash is still the one verified: a password changed meanwhile wins.
    await req.db.user.updateMany({
      where: { id: user.id, passwordHash: user.passwordHash },
      data: { passwordHash: await hashPassword(req.password) },
    });
  }
  const secret = newSecret('cs');
  const expiresAt = new Date(req.now.getTime() + SESSION_TTL_SECONDS * 1000);
  const role = user.role;
  await req.db.$transaction(async (tx) => {
    const session = await tx.session.create({
      data: {
        id: sha256(secret),
        userId: user.id,
        expiresAt,
        ip: req.ip,
        userAgent: req.userAgent?.slice(0, 300) ?? null,
      },
    });
    await recordAudit({
      db: tx,
      actor: { kind: 'user', id: user.id, name: user.username, role, sessionId: session.id },
      action: 'auth.login',
      target: user.username,
      ip: req.ip,
      at: req.now,
    });
  });
  // Expired sessions are pruned at login so the table stays bounded without a timer.
  await req.db.session.deleteMany({ where: { expiresAt: { lt: req.now } } });
  return { secret, expiresAt, user: { id: user.id, username: user.username, role: user.role } };
}
