/** An operator pauses a tier (optionally until resumeAt): one config change with its audit row. */
import { AppError } from '../../lib/app-error';
import { findTierOrThrow } from './tier-lookup';
import type { TTierRequest } from './tier-request';
import { writePause } from './tier-state';

export async function pauseTier(req: TTierRequest & { tier: string; reason: string; resumeAt?: Date | undefined }) {
  const { now } = req;
  if (req.resumeAt && req.resumeAt <= now) throw new AppError('BAD_REQUEST', 'resumeAt: must be in the future');
  return req.config.mutate(
    async (tx, version) => {
      const tier = await findTierOrThrow({ tx, name: req.tier });
      if (tier.retiredAt) throw new AppError('CONFLICT', `tier "${tier.name}" is retired`);
      await writePause({
        tx,
        version,
        actor: req.actor,
        now,
        ip: req.ip,
        tier,
        reason: req.reason,
        resumeAt: req.resumeAt ?? null,
      });
      return {
        tier: tier.name,
        pausedAt: now.toISOString(),
        resumeAt: req.resumeAt?.toISOString() ?? null,
        configVersion: version,
      };
    },
    // Refused already while the pause commits, so no consume slips in between commit and reload.
    { pausing: req.tier },
  );
}
