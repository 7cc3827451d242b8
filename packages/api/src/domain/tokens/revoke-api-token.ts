import type { TDb } from '@coolant/db';
import type { TActor } from '../actors/actor';
import { AppError } from '../../lib/app-error';
import { recordAudit } from '../audit/record-audit';
import { actorName } from './create-api-token';

export async function revokeApiToken(req: {
  db: TDb;
  actor: TActor;
  id: string;
  reason?: string | undefined;
  ip: string | null;
  now: Date;
}) {
  const token = await req.db.apiToken.findUnique({ where: { id: req.id } });
  if (!token) throw new AppError('NOT_FOUND', `No API token with id ${req.id}`);
  if (token.revokedAt) throw new AppError('CONFLICT', `API token "${token.name}" is already revoked`);
  if (req.actor.kind === 'token' && req.actor.id === token.id) {
    throw new AppError('BAD_REQUEST', 'A token cannot revoke itself; use another admin credential');
  }
  await req.db.apiToken.update({
    where: { id: token.id },
    data: { revokedAt: req.now, revokedBy: actorName(req.actor) },
  });
  await recordAudit({
    db: req.db,
    actor: req.actor,
    action: 'token.revoke',
    target: token.id,
    reason: req.reason,
    details: { name: token.name, role: token.role },
    ip: req.ip,
  });
  return { id: token.id, revokedAt: req.now.toISOString() };
}
