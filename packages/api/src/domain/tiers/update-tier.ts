/** An admin renames a tier, changes its fail mode, or retires (or un-retires) it. */
import { AppError } from '../../lib/app-error';
import type { TFailMode } from '../admission/config-snapshot';
import { recordAudit } from '../audit/record-audit';
import type { TTierRequest } from './tier-request';
import { clearPauseOfRetiredTier } from './tier-state';

export async function updateTier(
  req: TTierRequest & {
    tier: string;
    name?: string | undefined;
    failMode?: TFailMode | undefined;
    retired?: boolean | undefined;
    reason?: string | undefined;
  },
) {
  return req.config.mutate(async (tx, version) => {
    const tier = await tx.tier.findUnique({ where: { name: req.tier } });
    if (!tier) throw new AppError('NOT_FOUND', `tier: no tier named "${req.tier}"`);
    if (req.name && req.name !== tier.name && (await tx.tier.findUnique({ where: { name: req.name } }))) {
      throw new AppError('CONFLICT', `name: a tier named "${req.name}" already exists`);
    }
    if (req.retired && tier.pausedAt) await clearPauseOfRetiredTier({ tx, tierId: tier.id });
    const after = await tx.tier.update({
      where: { id: tier.id },
      data: {
        ...(req.name ? { name: req.name } : {}),
        ...(req.failMode ? { failMode: req.failMode } : {}),
        ...(req.retired !== undefined ? { retiredAt: req.retired ? (tier.retiredAt ?? req.now) : null } : {}),
      },
    });
    const shape = (t: typeof tier) => ({ name: t.name, failMode: t.failMode, retired: t.retiredAt !== null });
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'tier.update',
      target: after.name,
      reason: req.reason,
      details: { before: shape(tier), after: shape(after), configVersion: version },
      ip: req.ip ?? null,
    });
    return { id: after.id, ...shape(after), configVersion: version };
  });
}
