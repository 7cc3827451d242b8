/**
 * An admin revokes a node's token. The revocation, its audit row and the config-version bump that
 * makes every instance drop its cached credentials commit in one transaction: no instance can
 * learn of a revocation without its audit row, nor the audit row exist for a revocation that rolled back.
 */
import type { TActor } from '../actors/actor';
import { actorName } from '../actors/actor';
import { AppError } from '../../lib/app-error';
import { recordAudit } from '../audit/record-audit';
import type { TConfigMutator } from '../tiers/tier-request';

export type TRevokeNodeRequest = {
  config: TConfigMutator;
  actor: TActor;
  id: string;
  reason?: string | undefined;
  ip: string | null;
  now: Date;
};

export async function revokeNode(req: TRevokeNodeRequest) {
  return req.config.mutate(async (tx, version) => {
    const n = await tx.node.findUnique({ where: { id: req.id } });
    if (!n) throw new AppError('NOT_FOUND', `No node with id ${req.id}`);
    if (n.revokedAt) throw new AppError('CONFLICT', `Node ${n.hostname} is already revoked`);
    await tx.node.update({ where: { id: n.id }, data: { revokedAt: req.now, revokedBy: actorName(req.actor) } });
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'node.revoke',
      target: n.id,
      reason: req.reason,
      details: { hostname: n.hostname, configVersion: version },
      ip: req.ip,
    });
    return { id: n.id, revokedAt: req.now.toISOString() };
  });
}
