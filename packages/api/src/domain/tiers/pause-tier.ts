import type { TContext } from '../../context';
import { AppError } from '../../lib/app-error';
import { recordAudit } from '../audit/record-audit';
import { actorName } from '../tokens/create-api-token';
import { findTierOrThrow } from './tier-lookup';

type TCtx = Pick<TContext, 'actor' | 'request' | 'now' | 'config'>;

export async function pauseTier(ctx: TCtx, req: { tier: string; reason: string; resumeAt?: Date | undefined }) {
  const now = ctx.now();
  if (req.resumeAt && req.resumeAt <= now) throw new AppError('BAD_REQUEST', 'resumeAt: must be in the future');
  return ctx.config.mutate(
    async (tx, version) => {
      const tier = await findTierOrThrow(tx, req.tier);
      if (tier.retiredAt) throw new AppError('CONFLICT', `tier "${tier.name}" is retired`);
      const before = tier.pausedAt ? { pausedAt: tier.pausedAt, reason: tier.pauseReason, resumeAt: tier.resumeAt } : { paused: false };
      await tx.tier.update({
        where: { id: tier.id },
        data: { pausedAt: now, pausedBy: actorName(ctx.actor), pauseReason: req.reason, resumeAt: req.resumeAt ?? null, pauseVersion: version },
      });
      await recordAudit({
        db: tx,
        actor: ctx.actor,
        action: 'tier.pause',
        target: tier.name,
        reason: req.reason,
        details: { before, after: { pausedAt: now, resumeAt: req.resumeAt ?? null }, configVersion: version },
        ip: ctx.request.ip,
      });
      return { tier: tier.name, pausedAt: now.toISOString(), resumeAt: req.resumeAt?.toISOString() ?? null, configVersion: version };
    },
    { pausing: req.tier },
  );
}

export async function resumeTier(ctx: TCtx, req: { tier: string; reason?: string | undefined }) {
  return ctx.config.mutate(async (tx, version) => {
    const tier = await findTierOrThrow(tx, req.tier);
    if (!tier.pausedAt) throw new AppError('CONFLICT', `tier "${tier.name}" is not paused`);
    await tx.tier.update({ where: { id: tier.id }, data: { pausedAt: null, pausedBy: null, pauseReason: null, resumeAt: null, pauseVersion: null } });
    await recordAudit({
      db: tx,
      actor: ctx.actor,
      action: 'tier.resume',
      target: tier.name,
      reason: req.reason,
      details: { before: { pausedAt: tier.pausedAt, reason: tier.pauseReason, resumeAt: tier.resumeAt }, after: { paused: false }, configVersion: version },
      ip: ctx.request.ip,
    });
    return { tier: tier.name, resumedAt: ctx.now().toISOString(), configVersion: version };
  });
}
