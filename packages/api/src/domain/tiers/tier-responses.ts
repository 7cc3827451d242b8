/**
 * What tiers.* answers, as zod schemas for the OpenAPI document: the tier
 * list (limits per window and scope, pause and its propagation, the last
 * hour) and what each change reports back. routers/tiers.ts holds them to the
 * domain functions' types at compile time; nothing parses an answer with them.
 */
import { z } from 'zod';
import { ZWindow } from '../admission/windows';
import { ZIsoDateTime } from '../iso-date-time';
import { ZLimitScope } from './limit-scope';

const ZConfigVersion = z.number().int().describe('The config version this change committed as');
const ZBounds = z.object({
  perTier: z.number().int().nullable().describe('Generations in flight in the whole tier; null: unbounded'),
  perSubject: z.number().int().nullable().describe("Each subject's generations in flight; null: unbounded"),
});

export const ZTiersListResponse = z.object({
  configVersion: z.number().int(),
  instances: z
    .array(
      z.object({
        id: z.string(),
        hostname: z.string(),
        pid: z.number().int(),
        configVersion: z.number().int(),
        appliedAt: ZIsoDateTime,
        heartbeatAt: ZIsoDateTime,
      }),
    )
    .describe('Live console instances and the config version each has applied'),
  tiers: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      failMode: z.enum(['open', 'closed']).describe('What a gateway does when Coolant cannot answer'),
      retired: z.boolean(),
      paused: z.boolean(),
      pause: z
        .object({
          at: ZIsoDateTime,
          by: z.string().nullable(),
          reason: z.string().nullable(),
          resumeAt: ZIsoDateTime.nullable(),
          propagation: z
            .object({
              issuedAt: ZIsoDateTime,
              instances: z.array(z.object({ instanceId: z.string(), appliedAt: ZIsoDateTime.nullable() })),
              appliedByAll: z.boolean(),
              lastAppliedAt: ZIsoDateTime.nullable(),
            })
            .nullable(),
        })
        .nullable(),
      limits: z
        .array(
          z.object({
            window: ZWindow,
            scope: ZLimitScope,
            base: z.number().int().nullable(),
            temporary: z
              .object({
                limit: z.number().int(),
                until: ZIsoDateTime,
                reason: z.string(),
                createdBy: z.string(),
                secondsLeft: z.number().int(),
              })
              .nullable(),
            effective: z.number().int().nullable().describe('The limit in force: the temporary one, else the base'),
          }),
        )
        .describe('One row per (scope, window): every subject window, a tier window only where one is set'),
      concurrency: ZBounds,
      lastHour: z.object({
        allowed: z.number().int(),
        denied: z.number().int(),
        perMinute: z.array(z.object({ minute: ZIsoDateTime, allowed: z.number().int(), denied: z.number().int() })),
      }),
    }),
  ),
});

export const ZSetLimitResponse = z.object({
  tier: z.string(),
  window: ZWindow,
  scope: ZLimitScope,
  before: z.number().int().nullable(),
  limit: z.number().int().nullable(),
  configVersion: ZConfigVersion,
});

export const ZSetTemporaryLimitResponse = z.object({
  id: z.string(),
  tier: z.string(),
  window: ZWindow,
  scope: ZLimitScope,
  limit: z.number().int(),
  until: ZIsoDateTime,
  configVersion: ZConfigVersion,
});

export const ZClearTemporaryLimitResponse = z.object({
  tier: z.string(),
  window: ZWindow,
  scope: ZLimitScope,
  cleared: z.boolean(),
  configVersion: ZConfigVersion,
});

export const ZSetConcurrencyResponse = z.object({
  tier: z.string(),
  before: ZBounds,
  concurrency: ZBounds,
  configVersion: ZConfigVersion,
});

export const ZPauseResponse = z.object({
  tier: z.string(),
  pausedAt: ZIsoDateTime,
  resumeAt: ZIsoDateTime.nullable(),
  configVersion: ZConfigVersion,
});

export const ZResumeResponse = z.object({ tier: z.string(), resumedAt: ZIsoDateTime, configVersion: ZConfigVersion });

export const ZCreateTierResponse = z.object({ id: z.string(), name: z.string(), configVersion: ZConfigVersion });

export const ZUpdateTierResponse = z.object({
  id: z.string(),
  name: z.string(),
  failMode: z.string().describe('open or closed'),
  retired: z.boolean(),
  configVersion: ZConfigVersion,
});
