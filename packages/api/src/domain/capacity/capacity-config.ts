/**
 * Capacity settings and per-tier shares: their zod schemas, their defaults (disabled, 1 slot per
 * GPU, hot GPUs count half) and how they are read. Written only by configure-capacity.ts, inside
 * the config-version bump, so every instance reloads them like any other admission setting.
 */
import { z } from 'zod';
import type { TDb, TDbTx } from '@coolant/db';

const ZTierName = z.string().trim().min(1, 'tier is required').max(64);

export const ZCapacityShare = z.strictObject({
  tier: ZTierName,
  /** Higher value = higher priority. */
  priority: z.number().int('priority must be a whole number').min(0).max(1000),
  /** Fraction 0..1 of the fleet's slots kept for the tier. */
  reserved: z.number().min(0, 'reserved must be at least 0').max(1, 'reserved must be at most 1 (100 %)'),
});
export type TCapacityShare = z.infer<typeof ZCapacityShare>;

export const ZSlotsPerModel = z.record(
  z.string().trim().min(1).max(128),
  z.number().int('slots must be a whole number').min(0).max(64),
);

/** One entry of `shares` in merge mode: the tier named, and what of its share changes (an omitted field stays). */
export const ZCapacitySharePatch = z.strictObject({
  tier: ZTierName,
  priority: ZCapacityShare.shape.priority.optional(),
  reserved: ZCapacityShare.shape.reserved.optional(),
});

/**
 * What capacity.configure takes; an omitted field stays as it is. `shares` with `sharesMode`
 * 'replace' (the default: the issue's signature lists the whole set) replaces them all, a tier left
 * out going back to priority 0, nothing reserved; with 'merge' only the tiers listed change, and
 * only the fields given, so two operators (or an operator and the guard) editing different tiers
 * both keep their edit (the CLI's `capacity reserve` and the Capacity page send only what changed).
 */
export const ZConfigureCapacity = z
  .strictObject({
    enabled: z.boolean().optional(),
    slotsPerGpu: z.number().int('slotsPerGpu must be a whole number').min(1).max(64).optional(),
    /** Per-GPU-model overrides of slotsPerGpu, by the name nvidia-smi reports ("NVIDIA H200"). */
    slotsPerModel: ZSlotsPerModel.optional(),
    hotWeight: z.number().min(0, 'hotWeight must be at least 0').max(1, 'hotWeight must be at most 1').optional(),
    shares: z
      .array(ZCapacitySharePatch)
      .max(100)
      .refine((s) => new Set(s.map((x) => x.tier)).size === s.length, { message: 'each tier at most once' })
      .refine((s) => s.reduce((a, x) => a + (x.reserved ?? 0), 0) <= 1 + 1e-9, {
        message: 'the reservations add up to more than 100 %',
      })
      .optional(),
    sharesMode: z.enum(['replace', 'merge']).optional(),
    /** Optional, like a base limit's (the console's page asks for one; the audit row keeps it). */
    reason: z.string().trim().max(500).optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.sharesMode ?? 'replace') !== 'replace') return;
    (v.shares ?? []).forEach((s, i) => {
      for (const field of ['priority', 'reserved'] as const)
        if (s[field] === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['shares', i, field],
            message: `shares[${i}] (${s.tier}): ${field} is required when sharesMode is 'replace' (use sharesMode 'merge' to change only some fields)`,
          });
    });
  });
export type TConfigureCapacityInput = z.infer<typeof ZConfigureCapacity>;

export type TCapacitySettings = {
  enabled: boolean;
  slotsPerGpu: number;
  slotsPerModel: Record<string, number>;
  hotWeight: number;
};

export const DEFAULT_CAPACITY_SETTINGS: TCapacitySettings = {
  enabled: false,
  slotsPerGpu: 1,
  slotsPerModel: {},
  hotWeight: 0.5,
};

export async function readCapacitySettings(db: TDb | TDbTx): Promise<TCapacitySettings> {
  const row = await db.capacityConfig.findUnique({ where: { id: 1 } });
  if (!row) return DEFAULT_CAPACITY_SETTINGS;
  const models = ZSlotsPerModel.safeParse(safeJson(row.slotsPerModel));
  return {
    enabled: row.enabled,
    slotsPerGpu: row.slotsPerGpu,
    slotsPerModel: models.success ? models.data : {},
    hotWeight: row.hotWeight,
  };
}

/** Shares of the tiers that are not retired, by tier name; a tier without a row has priority 0, reserved 0. */
export async function readCapacityShares(db: TDb | TDbTx): Promise<(TCapacityShare & { tierId: string })[]> {
  const tiers = await db.tier.findMany({
    where: { retiredAt: null },
    select: { id: true, name: true, capacityShare: { select: { priority: true, reserved: true } } },
    orderBy: { name: 'asc' },
  });
  return tiers
    .map((t) => ({
      tierId: t.id,
      tier: t.name,
      priority: t.capacityShare?.priority ?? 0,
      reserved: t.capacityShare?.reserved ?? 0,
    }))
    .sort((a, b) => b.priority - a.priority || a.tier.localeCompare(b.tier));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
