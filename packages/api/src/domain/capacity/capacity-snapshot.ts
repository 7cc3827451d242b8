/**
 * The one C every instance applies: the CapacitySnapshot row (id 1). Whichever instance finds it
 * older than the refresh interval measures the fleet and writes it with a compare-and-set on seq,
 * so one write wins per refresh and the losers read the winner's row. No instance ever applies
 * its own measurement: what it applies is what the row says, so two instances can differ only by
 * the moment they last read it (at most one poll, 1 s), and not at all where the decision reads
 * the row itself in its transaction, which is what the lease path on PostgreSQL does (see
 * lease-counts.ts). The writer also keeps the Capacity page's history (one CapacitySample per
 * 10 s bucket, the bucket's key making a second writer's sample a no-op; none while C is unknown).
 */
import type { TDb } from '@coolant/db';
import { isUniqueViolation } from '../../lib/unique-violation';
import { readCapacitySettings, type TCapacitySettings } from './capacity-config';
import { measureFleetCapacity, type TFleetCapacity } from './compute-capacity';

export type TCapacitySnapshot = TFleetCapacity & { seq: number; computedAt: Date; computedBy: string };

/** A snapshot older than this is measured again (the issue asks for at least every 5 s). */
export const REFRESH_MS = 2_000;
export const SAMPLE_BUCKET_MS = 10_000;

export async function readCapacitySnapshot(req: { db: TDb }): Promise<TCapacitySnapshot | null> {
  const row = await req.db.capacitySnapshot.findUnique({ where: { id: 1 } });
  if (!row) return null;
  return {
    seq: row.seq,
    computedAt: row.computedAt,
    computedBy: row.computedBy,
    state: row.state === 'ok' ? 'ok' : 'unknown',
    slots: row.slots,
    usableGpus: row.usableGpus,
    hotGpus: row.hotGpus,
    gpusTotal: row.gpusTotal,
    gpusUnusable: row.gpusUnusable,
    nodesOnline: row.nodesOnline,
    nodesOffline: row.nodesOffline,
    telemetryAt: row.telemetryAt,
  };
}

/**
 * The snapshot, measured again first when it is older than `maxAgeMs` (or `force`). Returns the
 * row as stored after the attempt: the winner's when another instance wrote first.
 */
export async function refreshCapacitySnapshot(req: {
  db: TDb;
  now: Date;
  instanceId: string;
  offlineAfterMs: number;
  maxAgeMs?: number;
  force?: boolean;
  settings?: TCapacitySettings;
  /** Per-tier figures for the history sample (JSON {tier: {inflight, reservedSlots}}); none: no sample. */
  sampleTiers?: (slots: number) => Promise<Record<string, { inflight: number; reservedSlots: number }>>;
}): Promise<TCapacitySnapshot> {
  const { db, now } = req;
  const before = await readCapacitySnapshot({ db });
  const maxAge = req.maxAgeMs ?? REFRESH_MS;
  if (before && !req.force && now.getTime() - before.computedAt.getTime() < maxAge) return before;
  const settings = req.settings ?? (await readCapacitySettings(db));
  const fleet = await measureFleetCapacity({ db, settings, now, offlineAfterMs: req.offlineAfterMs });
  const data = { ...fleet, computedAt: now, computedBy: req.instanceId };
  let wrote: boolean;
  if (before) {
    const r = await db.capacitySnapshot.updateMany({
      where: { id: 1, seq: before.seq },
      data: { ...data, seq: before.seq + 1 },
    });
    wrote = r.count === 1;
  } else {
    // The first to create the row wins; a unique violation means another instance did.
    wrote = await db.capacitySnapshot.create({ data: { id: 1, seq: 1, ...data } }).then(
      () => true,
      (e: unknown) => {
        if (isUniqueViolation(e)) return false;
        throw e;
      },
    );
  }
  // An unknown C is no sample: its 0 slots would chart as an empty fleet (the page shows a gap).
  if (wrote && req.sampleTiers && fleet.state === 'ok')
    await recordSample({ db, now, fleet, tiers: await req.sampleTiers(fleet.slots) });
  const after = await readCapacitySnapshot({ db });
  if (!after) throw new Error('capacity snapshot vanished after a write');
  return after;
}

async function recordSample(req: {
  db: TDb;
  now: Date;
  fleet: TFleetCapacity;
  tiers: Record<string, { inflight: number; reservedSlots: number }>;
}): Promise<void> {
  const at = new Date(Math.floor(req.now.getTime() / SAMPLE_BUCKET_MS) * SAMPLE_BUCKET_MS);
  await req.db.capacitySample
    .create({
      data: { at, slots: req.fleet.slots, usableGpus: req.fleet.usableGpus, tiers: JSON.stringify(req.tiers) },
    })
    .catch((e: unknown) => {
      if (!isUniqueViolation(e)) throw e; // a unique violation: this bucket has its sample already
    });
}

/**
 * What the admission path consults: off (only quotas apply), ok (apply the rule with `slots`),
 * or unknown (no telemetry for longer than the stall threshold, or no instance has measured for
 * that long): the tier's failMode decides, as when Coolant cannot answer at all.
 */
export type TCapacityState = { state: 'off' } | { state: 'ok'; slots: number } | { state: 'unknown'; why: string };

export function capacityState(req: {
  enabled: boolean;
  snapshot: TCapacitySnapshot | null;
  now: Date;
  stallSeconds: number;
}): TCapacityState {
  if (!req.enabled) return { state: 'off' };
  const s = req.snapshot;
  if (!s) return { state: 'unknown', why: 'capacity not measured yet' };
  const age = req.now.getTime() - s.computedAt.getTime();
  if (age > req.stallSeconds * 1000)
    return { state: 'unknown', why: `capacity last measured ${Math.round(age / 1000)} s ago` };
  if (s.state === 'unknown') {
    return {
      state: 'unknown',
      why: s.telemetryAt ? `no telemetry since ${s.telemetryAt.toISOString()}` : 'no node has ever reported',
    };
  }
  return { state: 'ok', slots: s.slots };
}

/** History older than this is pruned. */
export const SAMPLE_RETENTION_MS = 24 * 3600_000;

export async function pruneCapacitySamples(req: { db: TDb; now: Date }): Promise<number> {
  const r = await req.db.capacitySample.deleteMany({
    where: { at: { lt: new Date(req.now.getTime() - SAMPLE_RETENTION_MS) } },
  });
  return r.count;
}
