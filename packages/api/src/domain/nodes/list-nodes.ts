import type { TDb } from '@coolant/db';
import type { TActor } from '../../context';
import { AppError } from '../../lib/app-error';
import { recordAudit } from '../audit/record-audit';
import { actorName } from '../tokens/create-api-token';

/** A node is stale after missing this long, offline after three times as long. */
export const STALE_AFTER_MS = 30_000;

export function nodeStatus(lastSeenAt: Date | null, revokedAt: Date | null, now: Date): 'online' | 'stale' | 'offline' | 'revoked' {
  if (revokedAt) return 'revoked';
  if (!lastSeenAt) return 'offline';
  const age = now.getTime() - lastSeenAt.getTime();
  return age <= STALE_AFTER_MS ? 'online' : age <= 3 * STALE_AFTER_MS ? 'stale' : 'offline';
}

const nodeSelect = { id: true, hostname: true, agentVersion: true, os: true, enrolledAt: true, lastSeenAt: true, lastSeq: true, revokedAt: true } as const;

function shape(n: { id: string; hostname: string; agentVersion: string | null; os: string | null; enrolledAt: Date; lastSeenAt: Date | null; lastSeq: number; revokedAt: Date | null }, now: Date) {
  return {
    ...n,
    enrolledAt: n.enrolledAt.toISOString(),
    lastSeenAt: n.lastSeenAt?.toISOString() ?? null,
    revokedAt: n.revokedAt?.toISOString() ?? null,
    status: nodeStatus(n.lastSeenAt, n.revokedAt, now),
  };
}

export async function listNodes(req: { db: TDb; now: Date; includeRevoked: boolean }) {
  const rows = await req.db.node.findMany({ where: req.includeRevoked ? {} : { revokedAt: null }, orderBy: { hostname: 'asc' }, select: nodeSelect });
  return rows.map((n) => shape(n, req.now));
}

export async function getNode(req: { db: TDb; id: string; now: Date }) {
  const n = await req.db.node.findUnique({ where: { id: req.id }, select: nodeSelect });
  if (!n) throw new AppError('NOT_FOUND', `No node with id ${req.id}`);
  return shape(n, req.now);
}

export async function revokeNode(req: { db: TDb; actor: TActor; id: string; reason?: string | undefined; ip: string | null; now: Date }) {
  const n = await req.db.node.findUnique({ where: { id: req.id } });
  if (!n) throw new AppError('NOT_FOUND', `No node with id ${req.id}`);
  if (n.revokedAt) throw new AppError('CONFLICT', `Node ${n.hostname} is already revoked`);
  await req.db.node.update({ where: { id: n.id }, data: { revokedAt: req.now, revokedBy: actorName(req.actor) } });
  await recordAudit({ db: req.db, actor: req.actor, action: 'node.revoke', target: n.id, reason: req.reason, details: { hostname: n.hostname }, ip: req.ip });
  return { id: n.id, revokedAt: req.now.toISOString() };
}
