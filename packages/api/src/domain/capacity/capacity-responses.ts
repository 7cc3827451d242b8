/**
 * What capacity.* answers, as zod schemas for the OpenAPI document: C and
 * the tiers' shares now (get), what the Capacity page charts (history), the
 * version a change committed as (configure). routers/capacity.ts holds them
 * to the domain functions' types at compile time; nothing parses an answer.
 */
import { z } from 'zod';
import { ZIsoDateTime } from '../iso-date-time';

export const ZCapacityResponse = z.object({
  enabled: z.boolean().describe('Whether fleet-aware admission refuses leases over capacity'),
  state: z.enum(['unknown', 'ok', 'off']),
  stateReason: z.string().nullable().describe('Why capacity is unknown; null otherwise'),
  slots: z.number().describe('C: generation slots the fleet offers now'),
  usableGpus: z.number().int(),
  hotGpus: z.number().int(),
  gpusTotal: z.number().int(),
  gpusUnusable: z.number().int(),
  nodesOnline: z.number().int(),
  nodesOffline: z.number().int(),
  telemetryAt: ZIsoDateTime.nullable(),
  computedAt: ZIsoDateTime,
  computedBy: z.string().describe('The instance that measured it'),
  inflight: z.number().int(),
  free: z.number(),
  slotsPerGpu: z.number(),
  slotsPerModel: z.record(z.string(), z.number()),
  hotWeight: z.number(),
  hotTemperatureC: z.number(),
  tiers: z.array(
    z.object({
      tier: z.string(),
      priority: z.number().int(),
      reserved: z.number().describe('Its share of C, a fraction 0..1'),
      reservedSlots: z.number().describe('R(t): the slots that share is now'),
      inflight: z.number().int(),
      borrowed: z.number().describe('In flight beyond R(t)'),
      leasesExpired: z.number().int(),
      summary: z.string(),
    }),
  ),
});

export const ZCapacityHistoryResponse = z.object({
  from: ZIsoDateTime,
  to: ZIsoDateTime,
  bucketSeconds: z.number(),
  samples: z
    .array(
      z.object({
        at: ZIsoDateTime,
        slots: z.number(),
        usableGpus: z.number().int(),
        tiers: z.record(z.string(), z.object({ inflight: z.number(), reservedSlots: z.number() })),
      }),
    )
    .describe('One per bucket while some instance measured; a bucket without one is a gap, not 0'),
  refusals: z
    .array(z.object({ minute: ZIsoDateTime, tier: z.string(), reason: z.string(), count: z.number().int() }))
    .describe('Per tier, minute and reason; minutes with none left out'),
});

export const ZConfigureCapacityResponse = z.object({ configVersion: z.number().int() });
