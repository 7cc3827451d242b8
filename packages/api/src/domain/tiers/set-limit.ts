/**
 * Sets (or with `limit: null` removes) the base limit of a tier on a window, in one scope: a
 * subject limit and a tier limit on the same window are separate rows, and this touches only the
 * one named. Counters are keyed by (tier, window, subject, window start), not by the limit, so
 * what subjects already spent in this window still counts.
 */
import { actorName } from '../actors/actor';
import type { TWindow } from '../admission/windows';
import { recordAudit } from '../audit/record-audit';
import type { TLimitScope } from './limit-scope';
import { findTierOrThrow } from './tier-lookup';
import type { TTierRequest } from './tier-request';

export async function setLimit(
  req: TTierRequest & {
    tier: string;
    window: TWindow;
    limit: number | null;
    scope?: TLimitScope | undefined;
    reason?: string | undefined;
  },
) {
  const scope = req.scope ?? 'subject';
  const { window } = req;
  return req.config.mutate(async (tx, version) => {
    const tier = await findTierOrThrow({ tx, name: req.tier });
    const before = tier.limits.find((l) => l.window === window && l.scope === scope)?.limit ?? null;
    if (req.limit === null) {
      await tx.tierLimit.deleteMany({ where: { tierId: tier.id, window, scope } });
    } else {
      const updatedBy = actorName(req.actor);
      await tx.tierLimit.upsert({
        where: { tierId_window_scope: { tierId: tier.id, window, scope } },
        create: { tierId: tier.id, window, scope, limit: req.limit, updatedBy },
        update: { limit: req.limit, updatedBy },
      });
    }
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'tier.set_limit',
      target: tier.name,
      reason: req.reason,
      details: { window, scope, before, after: req.limit, configVersion: version },
      ip: req.ip ?? null,
    });
    return { tier: tier.name, window, scope, before, limit: req.limit, configVersion: version };
  });
}
