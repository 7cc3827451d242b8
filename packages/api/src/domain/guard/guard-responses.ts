/**
 * What guard.* answers, as zod schemas for the OpenAPI document: the state
 * with its rules and ladders, the history, and what each change reports.
 * The config is documented by ZGuardConfig itself, the schema it is stored
 * through (its webhook secret redacted). routers/guard.ts holds these to the
 * domain functions' types at compile time; nothing parses an answer with them.
 */
import { z } from 'zod';
import { ZIsoDateTime } from '../iso-date-time';
import { SIGNAL_KINDS, ZGuardConfig, ZGuardStep } from './guard-config';

/** Times the guard keeps in its stored runtime: ISO strings, as written then. */
const ZStoredTime = z.string().describe('ISO 8601 date-time');

/** The config as reads show it: the webhook secret is never sent. */
const ZRedactedGuardConfig = ZGuardConfig.safeExtend({
  webhook: z
    .object({ url: z.string(), secret: z.string().describe('Always redacted (••••••): the secret never leaves') })
    .nullable(),
});

const ZStepRecord = z.object({
  step: z.number().int(),
  tier: z.string(),
  action: z.enum(['pause', 'limit', 'reserve']),
  status: z
    .enum(['applied', 'dry', 'skipped', 'overridden'])
    .describe(
      'applied: in force; dry: dry run, nothing changed; skipped: an operator changed the tier recently; overridden: an operator undid it',
    ),
  at: ZStoredTime,
  tempLimitId: z.string().nullable().optional(),
  reservation: z.object({ before: z.number().nullable(), set: z.number() }).nullable().optional(),
  configVersion: z.number().int(),
});

const ZLadderPlace = { index: z.number().int(), description: z.string(), taken: ZStepRecord.nullable() };
const [ZPauseStep, ZLimitStep, ZReserveStep] = ZGuardStep.options;

const ZSignals = z.discriminatedUnion('data', [
  z.object({
    data: z.literal(true),
    at: ZIsoDateTime,
    gpus: z.number().int(),
    nodes: z.number().int(),
    // Spelled out rather than z.record(z.enum(SIGNAL_KINDS)): the document then lists each signal as a property.
    values: z.object({
      hot_share: z.number().nullable(),
      p90_temperature: z.number().nullable(),
      mean_utilization: z.number().nullable(),
      offline_share: z.number().nullable(),
    }),
  }),
  z.object({
    data: z.literal(false),
    at: ZIsoDateTime,
    reason: z.string(),
    gpus: z.number().int(),
    nodes: z.number().int(),
  }),
]);

export const ZGuardResponse = z.object({
  armed: z.boolean(),
  state: z.enum(['disarmed', 'armed', 'tripped', 'cooling', 'holding: no data']),
  configVersion: z.number().int(),
  updatedAt: ZIsoDateTime,
  updatedBy: z.string().nullable(),
  config: ZRedactedGuardConfig,
  signals: ZSignals.nullable().describe('The fleet figures now; null with brief: true'),
  rules: z.array(
    z.object({
      id: z.string(),
      enabled: z.boolean(),
      dryRun: z.boolean(),
      signal: z.enum(SIGNAL_KINDS),
      signalLabel: z.string(),
      temperatureC: z.number(),
      trip: z.number(),
      clear: z.number(),
      tripWindowSeconds: z.number().int(),
      clearWindowSeconds: z.number().int(),
      value: z.number().nullable(),
      state: z.enum(['disarmed', 'armed', 'tripped', 'cooling', 'holding: no data']),
      phase: z.enum(['armed', 'tripped', 'cooling']),
      position: z.number().int().describe('Steps of the ladder taken'),
      aboveSince: ZStoredTime.nullable(),
      belowSince: ZStoredTime.nullable(),
      trippedAt: ZStoredTime.nullable(),
      holding: z.object({ since: ZStoredTime, reason: z.string() }).nullable(),
      ladder: z.array(
        z.discriminatedUnion('action', [
          ZPauseStep.extend(ZLadderPlace),
          ZLimitStep.extend(ZLadderPlace),
          ZReserveStep.extend(ZLadderPlace),
        ]),
      ),
      series: z.array(z.object({ at: ZIsoDateTime, value: z.number().nullable() })).describe('Empty with brief: true'),
    }),
  ),
  shed: z
    .array(
      z.object({
        rule: z.string(),
        step: z.number().int(),
        tier: z.string(),
        action: z.enum(['pause', 'limit', 'reserve']),
        description: z.string(),
        since: ZStoredTime,
      }),
    )
    .describe('What the guard holds applied now'),
  alert: z.string().nullable(),
  lastEvalAt: ZStoredTime.nullable(),
  leader: z
    .object({ instanceId: z.string(), expiresAt: ZIsoDateTime, live: z.boolean(), thisInstance: z.boolean() })
    .nullable(),
});

const ZDrill = z.object({
  id: z.string(),
  tier: z.string().nullable(),
  state: z.string(),
  configVersion: z.number().int().nullable(),
  live: z.boolean(),
  requestedBy: z.string(),
  decidedBy: z.string().nullable(),
  requestedAt: ZIsoDateTime,
  decidedAt: ZIsoDateTime.nullable(),
  committedAt: ZIsoDateTime.nullable(),
  appliedAllAt: ZIsoDateTime.nullable(),
  instances: z.number().int().nullable(),
  decisionMs: z.number().nullable(),
  commitMs: z.number().nullable(),
  propagationMs: z.number().nullable(),
  error: z.string().nullable(),
});

export const ZGuardHistoryResponse = z.object({
  events: z.array(
    z.object({
      id: z.string(),
      at: ZIsoDateTime,
      kind: z.string(),
      tier: z.string().nullable(),
      action: z.string().nullable(),
      configVersion: z.number().int(),
      dryRun: z.boolean(),
      rule: z.string().nullable(),
      step: z.number().int().nullable(),
      instanceId: z.string().nullable(),
      message: z.string(),
      signal: z.unknown().describe('The fleet figures the event was decided on (JSON), or null'),
    }),
  ),
  drills: z.array(ZDrill).describe('The last 20, newest first'),
});

export const ZGuardUpdateResponse = z.object({ configVersion: z.number().int(), config: ZRedactedGuardConfig });

export const ZGuardArmResponse = z.object({ armed: z.boolean(), configVersion: z.number().int() });

export const ZGuardDisarmResponse = z.object({
  armed: z.boolean(),
  restored: z.array(z.string()).describe("The guard's steps undone (restore: true), e.g. 'pause free'"),
});

export const ZGuardDrillResponse = ZDrill.extend({
  intervalSeconds: z.number(),
  applyAfterCommitMs: z.number().nullable(),
  actor: z.literal('guard'),
});
