/**
 * The guard's one row (GuardState id 1): its config, whether it is armed, and its per-rule runtime,
 * with the compare-and-set on `seq` every writer of the runtime goes through, so two deciders
 * cannot both take a step.
 */
import type { TDb, TDbTx } from '@coolant/db';
import { z } from 'zod';
import type { TRuleRuntime, TStepRecord } from './decide';
import { DEFAULT_GUARD_CONFIG, ZGuardConfig, type TGuardConfig } from './guard-config';

export type TGuardRuntime = {
  rules: Record<string, TRuleRuntime>;
  lastEvalAt: string | null;
  lastEvalBy: string | null;
};

export type TGuardRow = {
  configVersion: number;
  config: TGuardConfig;
  armed: boolean;
  seq: number;
  runtime: TGuardRuntime;
  updatedAt: Date;
  updatedBy: string | null;
};

const EMPTY_RUNTIME: TGuardRuntime = { rules: {}, lastEvalAt: null, lastEvalBy: null };

const ZIso = z.string().nullable();

const ZStepRecord = z.object({
  step: z.number().int().min(0),
  tier: z.string(),
  action: z.enum(['pause', 'limit', 'reserve']),
  status: z.enum(['applied', 'dry', 'skipped', 'overridden']),
  at: z.string(),
  tempLimitId: z.string().nullable().optional(),
  reservation: z.object({ before: z.number().nullable(), set: z.number() }).nullable().optional(),
  configVersion: z.number(),
}) satisfies z.ZodType<TStepRecord>;

/** A rule's runtime as stored; a field added later reads as its empty value in an older row. */
const ZRuleRuntime = z.object({
  phase: z.enum(['armed', 'tripped', 'cooling']),
  aboveSince: ZIso.default(null),
  belowSince: ZIso.default(null),
  trippedAt: ZIso.default(null),
  lastMoveAt: ZIso.default(null),
  steps: z.array(ZStepRecord).default([]),
  holding: z.object({ since: z.string(), reason: z.string() }).nullable().default(null),
  lastValue: z.number().nullable().default(null),
  series: z.array(z.tuple([z.number(), z.number().nullable()])).default([]),
  cappedAt: ZIso.default(null),
}) satisfies z.ZodType<TRuleRuntime>;

const ZStoredRuntime = z.object({
  rules: z.record(z.string(), z.unknown()).catch({}),
  lastEvalAt: ZIso.catch(null),
  lastEvalBy: ZIso.catch(null),
});

/**
 * The stored runtime read through its schema, not trusted as typed: a rule whose runtime does not
 * parse starts again from empty (as a whole state that does not parse always did) rather than
 * handing the ladder steps that are not what the type says.
 */
export function parseRuntime(text: string): TGuardRuntime {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ...EMPTY_RUNTIME, rules: {} };
  }
  const stored = ZStoredRuntime.safeParse(json);
  if (!stored.success) return { ...EMPTY_RUNTIME, rules: {} };
  const rules: Record<string, TRuleRuntime> = {};
  for (const [id, rt] of Object.entries(stored.data.rules)) {
    const parsed = ZRuleRuntime.safeParse(rt);
    if (parsed.success) rules[id] = parsed.data;
  }
  return { rules, lastEvalAt: stored.data.lastEvalAt, lastEvalBy: stored.data.lastEvalBy };
}

export async function loadGuard(db: TDb | TDbTx): Promise<TGuardRow> {
  let row = await db.guardState.findUnique({ where: { id: 1 } });
  if (!row) {
    row = await db.guardState
      .create({ data: { id: 1, config: JSON.stringify(DEFAULT_GUARD_CONFIG), state: JSON.stringify(EMPTY_RUNTIME) } })
      .catch(async () => db.guardState.findUniqueOrThrow({ where: { id: 1 } }));
  }
  const parsed = ZGuardConfig.safeParse(JSON.parse(row.config));
  return {
    configVersion: row.configVersion,
    config: parsed.success ? parsed.data : DEFAULT_GUARD_CONFIG,
    armed: row.armed,
    seq: row.seq,
    runtime: parseRuntime(row.state),
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
  };
}

/**
 * Compare-and-set of the state: writes it (and `armed`, `updatedBy` when given) only if nobody
 * wrote since `seq` was read. The next seq, or null when another writer came first. Inside a
 * transaction that also changes tiers, call it first: a lost race then leaves nothing to undo.
 */
export async function casGuardState(req: {
  db: TDb | TDbTx;
  seq: number;
  runtime: TGuardRuntime;
  armed?: boolean;
  updatedBy?: string;
}): Promise<number | null> {
  const r = await req.db.guardState.updateMany({
    where: { id: 1, seq: req.seq },
    data: {
      seq: req.seq + 1,
      state: JSON.stringify(req.runtime),
      ...(req.armed !== undefined ? { armed: req.armed } : {}),
      ...(req.updatedBy !== undefined ? { updatedBy: req.updatedBy } : {}),
    },
  });
  return r.count === 1 ? req.seq + 1 : null;
}

/** After a casGuardState in the same transaction won: the final state, decided by what the transaction did. */
export async function writeClaimedState(req: { tx: TDbTx; seq: number; runtime: TGuardRuntime }): Promise<void> {
  await req.tx.guardState.updateMany({ where: { id: 1, seq: req.seq }, data: { state: JSON.stringify(req.runtime) } });
}
