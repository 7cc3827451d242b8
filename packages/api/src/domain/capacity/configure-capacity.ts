/**
 * capacity.configure: the settings and the tiers' shares in one transaction with their audit row
 * and the config-version bump (so every instance reloads them like a pause or a limit), then C
 * measured again at once, so the answer and the next decision use the new slots per GPU.
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
import { replaceCapacityShares } from './write-share';

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
      const byName = new Map(beforeShares.map((s) => [s.tier, s.tierId]));
      const unknown = req.shares.filter((s) => !byName.has(s.tier)).map((s) => s.tier);
      if (unknown.length) {
        throw new AppError('BAD_REQUEST', `shares: no such tier (or retired): ${unknown.join(', ')}`);
      }
      // Replaces them all: a tier left out goes back to priority 0, nothing reserved.
      await replaceCapacityShares({
        tx,
        actor: req.actor,
        shares: req.shares.map((s) => ({ tierId: byName.get(s.tier)!, priority: s.priority, reserved: s.reserved })),
      });
    }
    const shares = req.shares ? await readCapacityShares(tx) : beforeShares;
    const strip = (s: { tier: string; priority: number; reserved: number }[]) =>
      s.map(({ tier, priority, reserved }) => ({ tier, priority, reserved }));
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'capacity.configure',
      target: 'capacity',
      reason: req.reason,
      details: {
        before: { ...before, shares: strip(beforeShares) },
        after: { ...after, shares: strip(shares) },
        configVersion: version,
      },
      ip: req.ip ?? null,
    });
    return { configVersion: version, settings: after };
  });
  await refreshCapacitySnapshot({
    db: req.db,
    now: req.now,
    instanceId: req.instanceId,
    offlineAfterMs: req.offlineAfterMs,
    force: true,
    settings: result.settings,
  });
  return { configVersion: result.configVersion };
}
