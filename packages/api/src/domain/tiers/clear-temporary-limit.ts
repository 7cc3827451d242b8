/** An operator ends the temporary limit in force on (tier, window) before its time. */
import { AppError } from '../../lib/app-error';
import type { TWindow } from '../admission/windows';
import { findTierOrThrow } from './tier-lookup';
import type { TTierRequest } from './tier-request';
import { findActiveTemporaryLimit, writeClearTemporaryLimit } from './tier-state';

export async function clearTemporaryLimit(
  req: TTierRequest & { tier: string; window: TWindow; reason?: string | undefined },
) {
  const { now } = req;
  return req.config.mutate(async (tx, version) => {
    const tier = await findTierOrThrow({ tx, name: req.tier });
    const active = await findActiveTemporaryLimit({ tx, tierId: tier.id, window: req.window, now });
    if (!active) throw new AppError('NOT_FOUND', `no temporary ${req.window} limit is in force on tier "${tier.name}"`);
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
    return { tier: tier.name, window: req.window, cleared: true, configVersion: version };
  });
}
