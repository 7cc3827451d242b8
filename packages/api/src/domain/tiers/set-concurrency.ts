/**
 * An admin bounds the generations a tier may have in flight at once (leases held): for the whole
 * tier and for each of its subjects; null takes that bound off, an omitted one stays as it is. The write and its audit row are
 * tier-state.ts's, inside the config-version bump, so every instance reloads the bounds.
 */
import { AppError } from '../../lib/app-error';
import type { TTierRequest } from './tier-request';
import { concurrencySelect, writeConcurrency } from './tier-state';

export const NO_BOUND_MESSAGE = 'give at least one of perTier and perSubject (null takes a bound off)';

export async function setConcurrency(
  req: TTierRequest & {
    tier: string;
    perTier?: number | null | undefined;
    perSubject?: number | null | undefined;
    reason?: string | undefined;
  },
) {
  // Neither bound given would be an audited change of nothing: refused before the transaction.
  if (req.perTier === undefined && req.perSubject === undefined) throw new AppError('BAD_REQUEST', NO_BOUND_MESSAGE);
  return req.config.mutate(async (tx, version) => {
    const tier = await tx.tier.findUnique({
      where: { name: req.tier },
      select: { id: true, name: true, ...concurrencySelect },
    });
    if (!tier) throw new AppError('NOT_FOUND', `tier: no tier named "${req.tier}"`);
    const set = {
      perTier: req.perTier === undefined ? tier.concurrencyPerTier : req.perTier,
      perSubject: req.perSubject === undefined ? tier.concurrencyPerSubject : req.perSubject,
    };
    const before = await writeConcurrency({
      tx,
      version,
      actor: req.actor,
      now: req.now,
      reason: req.reason,
      ip: req.ip,
      tier,
      set,
    });
    return { tier: tier.name, before, concurrency: set, configVersion: version };
  });
}
