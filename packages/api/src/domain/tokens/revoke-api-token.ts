/**
 * An admin revokes an API token: the revocation, its audit row and the config-version bump that
 * makes every instance drop its cached credentials commit in one transaction (see revoke-node.ts).
 */
import type { TActor } from '../actors/actor';
import { actorName } from '../actors/actor';
import { AppError } from '../../lib/app-error';
import { recordAudit } from '../audit/record-audit';
import type { TConfigMutator } from '../tiers/tier-request';

export type TRevokeApiTokenRequest = {
  config: TConfigMutator;
  actor: TActor;
  id: string;
  reason?: string | undefined;
  ip: string | null;
  now: Date;
};

export async function revokeApiToken(req: TRevokeApiTokenRequest) {
  return req.config.mutate(async (tx, version) => {
    const token = await tx.apiToken.findUnique({ where: { id: req.id } });
    if (!token) throw new AppError('NOT_FOUND', `No API token with id ${req.id}`);
    if (token.revokedAt) throw new AppError('CONFLICT', `API token "${token.name}" is already revoked`);
    if (req.actor.kind === 'token' && req.actor.id === token.id) {
      throw new AppError('BAD_REQUEST', 'A token cannot revoke itself; use another admin credential');
    }
    await tx.apiToken.update({
      where: { id: token.id },
      data: { revokedAt: req.now, revokedBy: actorName(req.actor) },
    });
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'token.revoke',
      target: token.id,
      reason: req.reason,
      details: { name: token.name, role: token.role, configVersion: version },
      ip: req.ip,
    });
    return { id: token.id, revokedAt: req.now.toISOString() };
  });
}
