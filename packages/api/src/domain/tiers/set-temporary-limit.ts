/** An operator sets a temporary limit on (tier, window, scope) until a time; it reverts by itself. */
import { AppError } from '../../lib/app-error';
import type { TWindow } from '../admission/windows';
import type { TLimitScope } from './limit-scope';
import { findTierOrThrow } from './tier-lookup';
import type { TTierRequest } from './tier-request';
import { writeTemporaryLimit } from './tier-state';

export async function setTemporaryLimit(
  req: TTierRequest & {
    tier: string;
    window: TWindow;
    scope?: TLimitScope | undefined;
    limit: number;
    until: Date;
    reason: string;
  },
) {
  const { now } = req;
  const scope = req.scope ?? 'subject';
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
      scope,
      limit: req.limit,
      until: req.until,
      reason: req.reason,
    });
    return {
      id: created.id,
      tier: tier.name,
      window: req.window,
      scope,
      limit: req.limit,
      until: req.until.toISOString(),
      configVersion: version,
    };
  });
}
