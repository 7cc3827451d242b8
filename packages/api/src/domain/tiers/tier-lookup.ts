/** A tier by name inside a change's transaction, with its base limits, or NOT_FOUND naming it. */
import type { TDbTx } from '@coolant/db';
import { AppError } from '../../lib/app-error';

export async function findTierOrThrow(req: { tx: TDbTx; name: string }) {
  const { name } = req;
  const tier = await req.tx.tier.findUnique({ where: { name }, include: { limits: true } });
  if (!tier) throw new AppError('NOT_FOUND', `tier: no tier named "${name}"`);
  return tier;
}
