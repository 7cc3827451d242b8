import type { TDb } from '@coolant/db';
import type { TActor } from '../actors/actor';
import { AppError } from '../../lib/app-error';
import { recordAudit } from '../audit/record-audit';
import { actorName } from '../tokens/create-api-token';

export async function revokeNode(req: {
  db: TDb;
  actor: TActor;
  id: string;
  reason?: string | undefined;
  ip: string | null;
  now: Date;
}) {
  const n = await req.db.node.findUnique({ where: { id: req.id } });
  if (!n) throw new AppError('NOT_FOUND', `No node with id ${req.id}`);
  if (n.revokedAt) throw new AppError('CONFLICT', `Node ${n.hostname} is already revoked`);
  await req.db.node.update({ where: { id: n.id }, data: { revokedAt: req.now, revokedBy: actorName(req.actor) } });
  await recordAudit({
    db: req.db,
    actor: req.actor,
    action: 'node.revoke',
    target: n.id,
    reason: req.reason,
    details: { hostname: n.hostname },
    ip: req.ip,
  });
  return { id: n.id, revokedAt: req.now.toISOString() };
}
