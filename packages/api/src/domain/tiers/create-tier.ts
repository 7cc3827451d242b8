/** An admin adds a tier (no limits, not paused). */
import { AppError } from '../../lib/app-error';
import type { TFailMode } from '../admission/config-snapshot';
import { recordAudit } from '../audit/record-audit';
import type { TTierRequest } from './tier-request';

export async function createTier(
  req: TTierRequest & { name: string; failMode: TFailMode; reason?: string | undefined },
) {
  return req.config.mutate(async (tx, version) => {
    if (await tx.tier.findUnique({ where: { name: req.name } }))
      throw new AppError('CONFLICT', `name: a tier named "${req.name}" already exists`);
    const tier = await tx.tier.create({ data: { name: req.name, failMode: req.failMode } });
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'tier.create',
      target: tier.name,
      reason: req.reason,
      details: { before: null, after: { name: tier.name, failMode: tier.failMode }, configVersion: version },
      ip: req.ip ?? null,
    });
    return { id: tier.id, name: tier.name, configVersion: version };
  });
}
