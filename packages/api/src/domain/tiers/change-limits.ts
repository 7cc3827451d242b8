import type { TContext } from '../../context';
import { AppError } from '../../lib/app-error';
import { recordAudit } from '../audit/record-audit';
import { actorName } from '../tokens/create-api-token';
import type { TWindow } from '../admission/windows';
import { findTierOrThrow } from './tier-lookup';

type TCtx = Pick<TContext, 'actor' | 'request' | 'now' | 'config'>;

/**
 * Sets (or with `limit: null` removes) the base limit of a tier on a window.
 * Counters are keyed by (tier, window, subject, window start), not by the
 * limit, so what subjects already spent in this window still counts.
 */
export async function setLimit(ctx: TCtx, req: { tier: string; window: TWindow; limit: number | null; reason?: string | undefined }) {
  return ctx.config.mutate(async (tx, version) => {
    const tier = await findTierOrThrow(tx, req.tier);
    const before = tier.limits.find((l) => l.window === req.window)?.limit ?? null;
    if (req.limit === null) {
      await tx.tierLimit.deleteMany({ where: { tierId: tier.id, window: req.window } });
    } else {
      await tx.tierLimit.upsert({
        where: { tierId_window: { tierId: tier.id, window: req.window } },
        create: { tierId: tier.id, window: req.window, limit: req.limit, updatedBy: actorName(ctx.actor) },
        update: { limit: req.limit, updatedBy: actorName(ctx.actor) },
      });
    }
    await recordAudit({
      db: tx,
      actor: ctx.actor,
      action: 'tier.set_limit',
      target: tier.name,
      reason: req.reason,
      details: { window: req.window, before, after: req.limit, configVersion: version },
      ip: ctx.request.ip,
    });
    return { tier: tier.name, window: req.window, before, limit: req.limit, configVersion: version };
  });
}

export async function setTemporaryLimit(ctx: TCtx, req: { tier: string; window: TWindow; limit: number; until: Date; reason: string }) {
  const now = ctx.now();
  if (req.until <= now) throw new AppError('BAD_REQUEST', 'until: must be in the future');
  return ctx.config.mutate(async (tx, version) => {
    const tier = await findTierOrThrow(tx, req.tier);
    const previous = await tx.temporaryLimit.findFirst({ where: { tierId: tier.id, window: req.window, clearedAt: null, until: { gt: now } } });
    // One temporary limit per (tier, window): a new one replaces the one in force.
    if (previous) await tx.temporaryLimit.update({ where: { id: previous.id }, data: { clearedAt: now, clearedBy: actorName(ctx.actor) } });
    const created = await tx.temporaryLimit.create({
      data: { tierId: tier.id, window: req.window, limit: req.limit, until: req.until, reason: req.reason, createdBy: actorName(ctx.actor) },
    });
    await recordAudit({
      db: tx,
      actor: ctx.actor,
      action: 'tier.set_temporary_limit',
      target: tier.name,
      reason: req.reason,
      details: {
        window: req.window,
        before: previous ? { limit: previous.limit, until: previous.until } : { base: tier.limits.find((l) => l.window === req.window)?.limit ?? null },
        after: { limit: req.limit, until: req.until },
        configVersion: version,
      },
      ip: ctx.request.ip,
    });
    return { id: created.id, tier: tier.name, window: req.window, limit: req.limit, until: req.until.toISOString(), configVersion: version };
  });
}

export async function clearTemporaryLimit(ctx: TCtx, req: { tier: string; window: TWindow; reason?: string | undefined }) {
  const now = ctx.now();
  return ctx.config.mutate(async (tx, version) => {
    const tier = await findTierOrThrow(tx, req.tier);
    const active = await tx.temporaryLimit.findFirst({ where: { tierId: tier.id, window: req.window, clearedAt: null, until: { gt: now } } });
    if (!active) throw new AppError('NOT_FOUND', `no temporary ${req.window} limit is in force on tier "${tier.name}"`);
    await tx.temporaryLimit.update({ where: { id: active.id }, data: { clearedAt: now, clearedBy: actorName(ctx.actor) } });
    await recordAudit({
      db: tx,
      actor: ctx.actor,
      action: 'tier.clear_temporary_limit',
      target: tier.name,
      reason: req.reason,
      details: { window: req.window, before: { limit: active.limit, until: active.until }, after: null, configVersion: version },
      ip: ctx.request.ip,
    });
    return { tier: tier.name, window: req.window, cleared: true, configVersion: version };
  });
}
