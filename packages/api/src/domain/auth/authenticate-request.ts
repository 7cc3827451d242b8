/** Who is calling: a Bearer token (API or node) or a session cookie, checked against the database. */
import type { TDb } from '@coolant/db';
import type { CredentialCache } from './credential-cache';
import type { TActor } from '../actors/actor';
import { isRole, isTokenRole } from '../../lib/roles';
import { safeEqualHex, sha256 } from '../../lib/secrets';

export type TAuthenticateRequest = {
  db: TDb;
  /** The services' cache (services.credentials). */
  credentials: CredentialCache;
  authorization: string | null | undefined;
  sessionCookie: string | null | undefined;
  now: Date;
};

/**
 * Who is calling. A Bearer header wins over a cookie; a credential that is
 * presented but unknown or revoked yields `invalid`, so the caller gets 401
 * instead of silently being treated as anonymous.
 */
export async function authenticateRequest(req: TAuthenticateRequest): Promise<TActor> {
  const { db, now, credentials } = req;
  if (req.authorization) {
    const cached = credentials.get({ authorization: req.authorization, nowMs: now.getTime() });
    if (cached) return cached;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.authorization);
    if (!match?.[1])
      return { kind: 'invalid', reason: 'Authorization header must be "Bearer <token>"', credential: 'bearer' };
    const actor = await authenticateBearer({
      db,
      credentials,
      hash: sha256(match[1]),
      nodeFirst: match[1].startsWith(NODE_TOKEN_PREFIX),
      now,
    });
    credentials.set({ authorization: req.authorization, actor, nowMs: now.getTime() });
    return actor;
  }
  if (req.sessionCookie) {
    const session = await db.session.findUnique({ where: { id: sha256(req.sessionCookie) }, include: { user: true } });
    if (!session || session.expiresAt <= now)
      return { kind: 'invalid', reason: 'Your session has expired; sign in again', credential: 'cookie' };
    if (session.user.disabledAt) return { kind: 'invalid', reason: 'This account is disabled', credential: 'cookie' };
    if (!isRole(session.user.role))
      return { kind: 'invalid', reason: 'This account has an unknown role', credential: 'cookie' };
    credentials.touch({
      key: `s:${session.id}`,
      nowMs: now.getTime(),
      write: () => db.session.update({ where: { id: session.id }, data: { lastSeenAt: now } }),
    });
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

/** Node tokens are minted `cn_…` (API tokens `ct_…`): such a secret is looked up as a node first. */
const NODE_TOKEN_PREFIX = 'cn_';

/**
 * Looks the hash up as an API token and as a node token, in the order the secret's prefix suggests:
 * one query instead of two for every agent whose cached credential expired (1,000 nodes: ~115 a
 * second). Both tables are still asked when the first has no match, so a secret of any form
 * (an admin token set in the environment, say) is found wherever it is stored.
 */
async function authenticateBearer(req: {
  db: TDb;
  credentials: CredentialCache;
  hash: string;
  nodeFirst: boolean;
  now: Date;
}): Promise<TActor> {
  const lookups = req.nodeFirst ? [asNode, asApiToken] : [asApiToken, asNode];
  for (const lookup of lookups) {
    const actor = await lookup(req);
    if (actor) return actor;
  }
  return { kind: 'invalid', reason: 'Unknown token', credential: 'bearer' };
}

async function asApiToken(req: {
  db: TDb;
  credentials: CredentialCache;
  hash: string;
  now: Date;
}): Promise<TActor | null> {
  const { db, hash, now } = req;
  const token = await db.apiToken.findUnique({ where: { tokenHash: hash } });
  if (!token || !safeEqualHex(token.tokenHash, hash)) return null;
  if (token.revokedAt) return { kind: 'invalid', reason: 'This API token has been revoked', credential: 'bearer' };
  if (!isTokenRole(token.role))
    return { kind: 'invalid', reason: 'This API token has an unknown role', credential: 'bearer' };
  req.credentials.touch({
    key: `t:${token.id}`,
    nowMs: now.getTime(),
    write: () => db.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: now } }),
  });
  return { kind: 'token', id: token.id, name: token.name, role: token.role };
}

async function asNode(req: { db: TDb; hash: string }): Promise<TActor | null> {
  const node = await req.db.node.findUnique({
    where: { tokenHash: req.hash },
    select: { id: true, hostname: true, tokenHash: true, revokedAt: true },
  });
  if (!node || !safeEqualHex(node.tokenHash, req.hash)) return null;
  if (node.revokedAt) return { kind: 'invalid', reason: 'This node token has been revoked', credential: 'bearer' };
  return { kind: 'node', id: node.id, name: node.hostname };
}
