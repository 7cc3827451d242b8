/**
 * capacity.configure: the settings and the tiers' shares in one transaction with their audit row
 * and the config-version bump (so every instance reloads them like a pause or a limit), then C
 * measured again at once (a second time when another instance's measure won the row meanwhile), so
 * the answer and the next decision use the new slots per GPU.
 */
import type { TDb } from '@coolant/db';
import { actorName, type TPersonActor } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import type { TConfigMutator } from '../tiers/tier-request';
import { AppError } from '../../lib/app-error';
import {
  readCapacitySettings,
  readCapacityShares,
  type TCapacitySettings,
  type TConfigureCapacityInput,
} from './capacity-config';
import { refreshCapacitySnapshot } from './capacity-snapshot';
import { mergeCapacityShares, replaceCapacityShares } from './write-share';

export type TConfigureCapacityRequest = TConfigureCapacityInput & {
  db: TDb;
  config: TConfigMutator;
  actor: TPersonActor;
  now: Date;
  instanceId: string;
  offlineAfterMs: number;
  ip?: string | null | undefined;
};

export async function configureCapacity(req: TConfigureCapacityRequest) {
  const by = actorName(req.actor);
  const result = await req.config.mutate(async (tx, version) => {
    const before = await readCapacitySettings(tx);
    const beforeShares = await readCapacityShares(tx);
    const after: TCapacitySettings = {
      enabled: req.enabled ?? before.enabled,
      slotsPerGpu: req.slotsPerGpu ?? before.slotsPerGpu,
      slotsPerModel: req.slotsPerModel ?? before.slotsPerModel,
      hotWeight: req.hotWeight ?? before.hotWeight,
    };
    const row = { ...after, slotsPerModel: JSON.stringify(after.slotsPerModel), updatedBy: by };
    await tx.capacityConfig.upsert({ where: { id: 1 }, create: { id: 1, ...row }, update: row });
    if (req.shares) {
      const byName = new Map(beforeShares.map((s) => [s.tier, s]));
      const unknown = req.shares.filter((s) => !byName.has(s.tier)).map((s) => s.tier);
      if (unknown.length) {
        throw new AppError('BAD_REQUEST', `shares: no such tier (or retired): ${unknown.join(', ')}`);
      }
      const given = req.shares.map((s) => {
        const was = byName.get(s.tier)!;
        return { tierId: was.tierId, priority: s.priority ?? was.priority, reserved: s.reserved ?? was.reserved };
      });
      if (req.sharesMode === 'merge') {
        // Read inside the config-version bump: a concurrent edit of another tier is counted, not lost.
        const named = new Set(given.map((s) => s.tierId));
        const total =
          beforeShares.filter((s) => !named.has(s.tierId)).reduce((a, s) => a + s.reserved, 0) +
          given.reduce((a, s) => a + s.reserved, 0);
        if (total > 1 + 1e-9)
          throw new AppError(
            'BAD_REQUEST',
            `shares: with the other tiers' reservations the total would be ${Math.round(total * 1000) / 10} %, more than 100 %`,
          );
        await mergeCapacityShares({ tx, actor: req.actor, shares: given });
      } else {
        // Replaces them all: a tier left out goes back to priority 0, nothing reserved.
        await replaceCapacityShares({ tx, actor: req.actor, shares: given });
      }
    }
    const shares = req.shares ? await readCapacityShares(tx) : beforeShares;
    const strip = (s: { tier: string; priority: number; reserved: number }[]) =>
      s.map(({ tier, priority, reserved }) => ({ tier, priority, reserved }));
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'capacity.configure',
      target: 'capacity',
      reason: req.reason || null,
      details: {
        before: { ...before, shares: strip(beforeShares) },
        after: { ...after, shares: strip(shares) },
        configVersion: version,
      },
      ip: req.ip ?? null,
    });
    return { configVersion: version, settings: after };
  });
  const measure = () =>
    refreshCapacitySnapshot({
      db: req.db,
      now: req.now,
      instanceId: req.instanceId,
      offlineAfterMs: req.offlineAfterMs,
      force: true,
      settings: result.settings,
    });
  // A forced measure loses its compare-and-set to an instance that measured at the same moment,
  // possibly with the old slots per GPU: then it measures once more on top of that row.
  const snap = await measure();
  if (snap.computedBy !== req.instanceId) await measure();
  return { configVersion: result.configVersion };
}
