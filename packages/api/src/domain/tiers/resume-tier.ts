/** An operator ends a tier's pause: one config change with its audit row. */
import { AppError } from '../../lib/app-error';
import { findTierOrThrow } from './tier-lookup';
import type { TTierRequest } from './tier-request';
import { writeResume } from './tier-state';

export async function resumeTier(req: TTierRequest & { tier: string; reason?: string | undefined }) {
  return req.config.mutate(async (tx, version) => {
    const tier = await findTierOrThrow({ tx, name: req.tier });
    if (!tier.pausedAt) throw new AppError('CONFLICT', `tier "${tier.name}" is not paused`);
    // A compare-and-set on the pause read above: on PostgreSQL a scheduled resume may commit in between.
    if (!(await writeResume({ tx, version, actor: req.actor, now: req.now, ip: req.ip, reason: req.reason, tier }))) {
      throw new AppError('CONFLICT', `the pause of tier "${tier.name}" changed meanwhile; reload and try again`);
    }
    return { tier: tier.name, resumedAt: req.now.toISOString(), configVersion: version };
  });
}
