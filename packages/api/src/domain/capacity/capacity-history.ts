/**
 * capacity.history: what the Capacity page charts over the last hour (or up to a day): the
 * CapacitySample rows (C and each tier's in-flight and R(t), one per 10 s bucket while some
 * instance measures) and the refusals per tier, minute and reason (AdmissionRefusalStat). A bucket
 * without a sample is simply absent: the page draws it as a gap, never as 0 slots. So is a bucket
 * whose capacity was unknown (capacity-snapshot.ts writes no sample then, since its 0 slots would
 * read as an empty fleet).
 */
import { z } from 'zod';
import type { TDb } from '@coolant/db';
import { SAMPLE_BUCKET_MS, SAMPLE_RETENTION_MS } from './capacity-snapshot';

export const ZCapacityHistoryRequest = z
  .strictObject({
    minutes: z
      .number()
      .int('minutes must be a whole number')
      .min(1, 'minutes must be at least 1')
      .max(SAMPLE_RETENTION_MS / 60_000, 'minutes must be at most 1440 (history is kept a day)')
      .default(60),
  })
  .default({ minutes: 60 });

export type TTierSample = { inflight: number; reservedSlots: number };

export type TCapacityHistory = {
  from: string;
  to: string;
  bucketSeconds: number;
  samples: { at: string; slots: number; usableGpus: number; tiers: Record<string, TTierSample> }[];
  /** Refusals per tier per minute by reason, minutes with none left out (there were none: a real 0). */
  refusals: { minute: string; tier: string; reason: string; count: number }[];
};

export async function getCapacityHistory(req: { db: TDb; now: Date; minutes: number }): Promise<TCapacityHistory> {
  const to = req.now.getTime();
  const from = to - req.minutes * 60_000;
  const [samples, refusals] = await Promise.all([
    req.db.capacitySample.findMany({ where: { at: { gt: new Date(from), lte: req.now } }, orderBy: { at: 'asc' } }),
    req.db.admissionRefusalStat.findMany({
      where: { minute: { gte: Math.floor(from / 60_000), lte: Math.floor(to / 60_000) }, count: { gt: 0 } },
      orderBy: [{ minute: 'asc' }, { tierName: 'asc' }, { reason: 'asc' }],
    }),
  ]);
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    bucketSeconds: SAMPLE_BUCKET_MS / 1000,
    samples: samples.map((s) => ({
      at: s.at.toISOString(),
      slots: s.slots,
      usableGpus: s.usableGpus,
      tiers: parseTiers(s.tiers),
    })),
    refusals: refusals.map((r) => ({
      minute: new Date(r.minute * 60_000).toISOString(),
      tier: r.tierName,
      reason: r.reason,
      count: r.count,
    })),
  };
}

const ZTierSamples = z.record(
  z.string(),
  z.object({ inflight: z.number().min(0), reservedSlots: z.number().min(0) }).transform((t) => ({
    inflight: t.inflight,
    reservedSlots: t.reservedSlots,
  })),
);

/** A row whose JSON does not parse reads as "no tier figures" rather than failing the whole page. */
function parseTiers(text: string): Record<string, TTierSample> {
  try {
    const parsed = ZTierSamples.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}
