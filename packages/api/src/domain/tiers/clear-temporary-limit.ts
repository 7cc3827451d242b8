/** An operator ends the temporary limit in force on (tier, window, scope) before its time. */
import { AppError } from '../../lib/app-error';
import type { TWindow } from '../admission/windows';
import type { TLimitScope } from './limit-scope';
import { findTierOrThrow } from './tier-lookup';
import type { TTierRequest } from './tier-request';
import { findActiveTemporaryLimit, writeClearTemporaryLimit } from './tier-state';

export async function clearTemporaryLimit(
  req: TTierRequest & { tier: string; window: TWindow; scope?: TLimitScope | undefined; reason?: string | undefined },
) {
  const { now, window } = req;
  const scope = req.scope ?? 'subject';
  return req.config.mutate(async (tx, version) => {
    const tier = await findTierOrThrow({ tx, name: req.tier });
    const active = await findActiveTemporaryLimit({ tx, tierId: tier.id, window, scope, now });
    if (!active)
      throw new AppError(
        'NOT_FOUND',
        `no temporary ${window} limit (scope ${scope}) is in force on tier "${tier.name}"`,
      );
    await writeClearTemporaryLimit({
      tx,
      version,
      actor: req.actor,
      now,
      ip: req.ip,
      reason: req.reason,
      tier,
      limit: active,
    });
    return { tier: tier.name, window, scope, cleared: true, configVersion: version };
  });
}
