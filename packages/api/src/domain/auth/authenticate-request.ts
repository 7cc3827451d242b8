import type { TDb } from '@coolant/db';
import type { TActor } from '../actors/actor';
import { isRole, isTokenRole } from '../../lib/roles';
import { safeEqualHex, sha256 } from '../../lib/secrets';

export type TAuthenticateRequest = {
  db: TDb;
  authorization: string | null | undefined;
  sessionCookie: string | null | undefined;
  now: Date;
};

const TOUCH_EVERY_MS = 60_000;
const lastTouched = new Map<string, number>();

/** Touch "last used" at most once a minute per credential, off the request's critical path. */
function touch(key: string, now: Date, write: () => Promise<unknown>): void {
  const prev = lastTouched.get(key) ?? 0;
  if (now.getTime() - prev < TOUCH_EVERY_MS) return;
  lastTouched.set(key, now.getTime());
  if (lastTouched.size > 10_000) lastTouched.clear();
  write().catch(() => lastTouched.delete(key));
}

/**
 * Bearer credentials are cached for a few seconds: the gateway calls
 * admission thousands of times a second with one token. A revocation clears
 * this instance's cache at once; other instances forget within
 * CREDENTIAL_CACHE_MS. Keyed by the Authorization header as sent, so a hit
 * costs one map lookup (no parse, no SHA-256); the key lives only in this
 * process's memory, where the header already was.
 */
export const CREDENTIAL_CACHE_MS = 5_000;
const credentialCache = new Map<string, { actor: TActor; until: number }>();

export function clearCredentialCache(): void {
  credentialCache.clear();
}

/**
 * Who is calling. A Bearer header wins over a cookie; a credential that is
 * presented but unknown or revoked yields `invalid`, so the caller gets 401
 * instead of silently being treated as anonymous.
 */
export async function authenticateRequest(req: TAuthenticateRequest): Promise<TActor> {
  const { db, now } = req;
  if (req.authorization) {
    const cached = credentialCache.get(req.authorization);
    if (cached && cached.until > now.getTime()) return cached.actor;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.authorization);
    if (!match?.[1])
      return { kind: 'invalid', reason: 'Authorization header must be "Bearer <token>"', credential: 'bearer' };
    const actor = await authenticateBearer(db, sha256(match[1]), now);
    if (credentialCache.size > 10_000) credentialCache.clear();
    credentialCache.set(req.authorization, { actor, until: now.getTime() + CREDENTIAL_CACHE_MS });
    return actor;
  }
  if (req.sessionCookie) {
    const session = await db.session.findUnique({ where: { id: sha256(req.sessionCookie) }, include: { user: true } });
    if (!session || session.expiresAt <= now)
      return { kind: 'invalid', reason: 'Your session has expired; sign in again', credential: 'cookie' };
    if (session.user.disabledAt) return { kind: 'invalid', reason: 'This account is disabled', credential: 'cookie' };
    if (!isRole(session.user.role))
      return { kind: 'invalid', reason: 'This account has an unknown role', credential: 'cookie' };
    touch(`s:${session.id}`, now, () => db.session.update({ where: { id: session.id }, data: { lastSeenAt: now } }));
    return {
      kind: 'user',
      id: session.user.id,
      name: session.user.username,
      role: session.user.role,
      sessionId: session.id,
    };
  }
  return { kind: 'anonymous' };
}

async function authenticateBearer(db: TDb, hash: string, now: Date): Promise<TActor> {
  const token = await db.apiToken.findUnique({ where: { tokenHash: hash } });
  if (token && safeEqualHex(token.tokenHash, hash)) {
    if (token.revokedAt) return { kind: 'invalid', reason: 'This API token has been revoked', credential: 'bearer' };
    if (!isTokenRole(token.role))
      return { kind: 'invalid', reason: 'This API token has an unknown role', credential: 'bearer' };
    touch(`t:${token.id}`, now, () => db.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: now } }));
    return { kind: 'token', id: token.id, name: token.name, role: token.role };
  }
  const node = await db.node.findUnique({ where: { tokenHash: hash } });
  if (node && safeEqualHex(node.tokenHash, hash)) {
    if (node.revokedAt) return { kind: 'invalid', reason: 'This node token has been revoked', credential: 'bearer' };
    return { kind: 'node', id: node.id, name: node.hostname };
  }
  return { kind: 'invalid', reason: 'Unknown token', credential: 'bearer' };
}
