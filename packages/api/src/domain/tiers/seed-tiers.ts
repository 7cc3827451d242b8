// Seeds the launch tiers once per database, at the first start.
import type { TDb } from '@coolant/db';
import { isUniqueViolation } from '../../lib/unique-violation';

const SEED_KEY = 'seed.tiers';

/** First start: the tiers of the launch (free capped at 3 a day). Never re-seeds what an admin removed. */
export async function seedTiers(req: { db: TDb }): Promise<boolean> {
  const done = await req.db.setting.findUnique({ where: { key: SEED_KEY } });
  if (done) return false;
  try {
    await req.db.$transaction(async (tx) => {
      // The marker first: the transaction's first statement is a write, so on SQLite it waits for the write lock
      // (busy timeout). An upsert first reads, and a read-then-write transaction fails at once with SQLITE_BUSY
      // while another connection holds that lock (a second console starting on the same file).
      await tx.setting.create({ data: { key: SEED_KEY, value: new Date().toISOString() } });
      for (const name of ['free', 'plus', 'pro', 'team']) {
        const tier = await tx.tier.upsert({
          where: { name },
          create: { name, failMode: name === 'free' ? 'closed' : 'open' },
          update: {},
        });
        if (name === 'free') {
          await tx.tierLimit.upsert({
            where: { tierId_window_scope: { tierId: tier.id, window: 'day', scope: 'subject' } },
            create: { tierId: tier.id, window: 'day', limit: 3, updatedBy: 'seed' },
            update: {},
          });
        }
      }
      await tx.configState.upsert({
        where: { id: 1 },
        create: { id: 1, version: 1 },
        update: { version: { increment: 1 } },
      });
    });
  } catch (error) {
    // Another instance starting at the same time seeded them.
    if (isUniqueViolation(error)) return false;
    throw error;
  }
  return true;
}
