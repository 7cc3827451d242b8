/** An operator sets a temporary limit on (tier, window) until a time; it reverts by itself. */
import { AppError } from '../../lib/app-error';
import type { TWindow } from '../admission/windows';
import { findTierOrThrow } from './tier-lookup';
import type { TTierRequest } from './tier-request';
import { writeTemporaryLimit } from './tier-state';

export async function setTemporaryLimit(
  req: TTierRequest & { tier: string; window: TWindow; limit: number; until: Date; reason: string },
) {
  const { now } = req;
  if (req.until <= now) throw new AppError('BAD_REQUEST', 'until: must be in the future');
  return req.config.mutate(async (tx, version) => {
    const tier = await findTierOrThrow({ tx, name: req.tier });
    const created = await writeTemporaryLimit({
      tx,
      version,
      actor: req.actor,
      now,
      ip: req.ip,
      tier,
      window: req.window,
      limit: req.limit,
      until: req.until,
      reason: req.reason,
    });
    return {
      id: created.id,
      tier: tier.name,
      window: req.window,
      limit: req.limit,
      until: req.until.toISOString(),
      configVersion: version,
    };
  });
}
