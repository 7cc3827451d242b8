import type { TContext } from '../../context';
import { AppError } from '../../lib/app-error';
import { recordAudit } from '../audit/record-audit';
import type { TFailMode } from '../admission/config-snapshot';

type TCtx = Pick<TContext, 'actor' | 'request' | 'now' | 'config'>;

export async function createTier(ctx: TCtx, req: { name: string; failMode: TFailMode; reason?: string | undefined }) {
  return ctx.config.mutate(async (tx, version) => {
    if (await tx.tier.findUnique({ where: { name: req.name } })) throw new AppError('CONFLICT', `name: a tier named "${req.name}" already exists`);
    const tier = await tx.tier.create({ data: { name: req.name, failMode: req.failMode } });
    await recordAudit({ db: tx, actor: ctx.actor, action: 'tier.create', target: tier.name, reason: req.reason, details: { before: null, after: { name: tier.name, failMode: tier.failMode }, configVersion: version }, ip: ctx.request.ip });
    return { id: tier.id, name: tier.name, configVersion: version };
  });
}

export async function updateTier(
  ctx: TCtx,
  req: { tier: string; name?: string | undefined; failMode?: TFailMode | undefined; retired?: boolean | undefined; reason?: string | undefined },
) {
  return ctx.config.mutate(async (tx, version) => {
    const tier = await tx.tier.findUnique({ where: { name: req.tier } });
    if (!tier) throw new AppError('NOT_FOUND', `tier: no tier named "${req.tier}"`);
    if (req.name && req.name !== tier.name && (await tx.tier.findUnique({ where: { name: req.name } }))) {
      throw new AppError('CONFLICT', `name: a tier named "${req.name}" already exists`);
    }
    const after = await tx.tier.update({
      where: { id: tier.id },
      data: {
        ...(req.name ? { name: req.name } : {}),
        ...(req.failMode ? { failMode: req.failMode } : {}),
        ...(req.retired !== undefined ? { retiredAt: req.retired ? (tier.retiredAt ?? ctx.now()) : null } : {}),
        // A retired tier serves nobody; a pause on it would be meaningless.
        ...(req.retired ? { pausedAt: null, pausedBy: null, pauseReason: null, resumeAt: null, pauseVersion: null } : {}),
      },
    });
    const shape = (t: typeof tier) => ({ name: t.name, failMode: t.failMode, retired: t.retiredAt !== null });
    await recordAudit({ db: tx, actor: ctx.actor, action: 'tier.update', target: after.name, reason: req.reason, details: { before: shape(tier), after: shape(after), configVersion: version }, ip: ctx.request.ip });
    return { id: after.id, ...shape(after), configVersion: version };
  });
}
