/**
 * What fleet.* answers, as zod schemas for the OpenAPI document: the fleet
 * list, one node's page, the alert rules. routers/fleet.ts holds them to the
 * query functions' types at compile time; nothing parses an answer with them.
 * Stored telemetry (host, health, throttle reasons) is documented by the very
 * schemas it was validated with when it came in.
 */
import { ZCollectorHealth, ZHostSample, ZNvidiaSmiStatus, ZThrottleReasons } from '@coolant/telemetry/schema';
import { z } from 'zod';
import { ZIsoDateTime } from '../iso-date-time';

const ZNodeStatus = z.enum(['online', 'stale', 'offline', 'revoked']);

const ZAlert = z.object({
  id: z.string(),
  kind: z.string().describe('gpu_hot, node_offline, gpu_missing or collector_failing'),
  nodeId: z.string(),
  gpuIndex: z.number().int().nullable(),
  state: z.string().describe('pending, firing or resolved'),
  message: z.string(),
  value: z.number().nullable(),
  startedAt: ZIsoDateTime,
  firingAt: ZIsoDateTime.nullable(),
  resolvedAt: ZIsoDateTime.nullable(),
});

const ZDataProblems = z
  .array(z.string())
  .describe('Stored JSON this node could not read (column and field named); empty when all read');

export const ZFleetListResponse = z.object({
  generatedAt: ZIsoDateTime,
  summary: z.object({
    nodes: z.number().int(),
    online: z.number().int(),
    stale: z.number().int(),
    offline: z.number().int(),
    gpus: z.number().int(),
    firingAlerts: z.number().int(),
  }),
  alerts: z.array(ZAlert).describe('Open alerts, firing first'),
  nodes: z.array(
    z.object({
      id: z.string(),
      hostname: z.string(),
      status: ZNodeStatus,
      enrolledAt: ZIsoDateTime,
      lastSeenAt: ZIsoDateTime.nullable(),
      revokedAt: ZIsoDateTime.nullable(),
      agentVersion: z.string().nullable(),
      os: z.string().nullable(),
      intervalSeconds: z.number(),
      lastSeq: z.number().int(),
      gpuCount: z.number().int(),
      cpuLoadPercent: z.number().nullable(),
      memUsedBytes: z.number().nullable(),
      memTotalBytes: z.number().nullable(),
      collector: z
        .object({
          ok: z.boolean(),
          errors: z.array(z.string()),
          durationMs: z.number(),
          nvidiaSmi: ZNvidiaSmiStatus,
          inventoryMismatch: z.boolean(),
        })
        .nullable(),
      dataProblems: ZDataProblems,
      spoolDropped: z.number().int(),
      firingAlerts: z.number().int(),
      lastSmoke: z.object({ state: z.string(), at: ZIsoDateTime.nullable(), reason: z.string().nullable() }).nullable(),
      gpus: z.array(
        z.object({
          index: z.number().int(),
          name: z.string().nullable(),
          util: z.number().nullable(),
          temp: z.number().nullable(),
          memUsed: z.number().nullable(),
          memTotal: z.number().nullable(),
          power: z.number().nullable(),
          missing: z.boolean(),
        }),
      ),
    }),
  ),
});

const n = () => z.number().nullable();

export const ZFleetNodeResponse = z.object({
  id: z.string(),
  hostname: z.string(),
  status: ZNodeStatus,
  agentVersion: z.string().nullable(),
  enrolledAt: ZIsoDateTime,
  lastSeenAt: ZIsoDateTime.nullable(),
  lastSampleAt: ZIsoDateTime.nullable(),
  intervalSeconds: z.number(),
  lastSeq: z.number().int(),
  spoolDropped: z.number().int(),
  revokedAt: ZIsoDateTime.nullable(),
  host: ZHostSample.nullable(),
  health: ZCollectorHealth.nullable(),
  dataProblems: ZDataProblems,
  collectorFailures: z.number().int(),
  gpus: z.array(
    z.object({
      index: z.number().int(),
      uuid: z.string().nullable(),
      name: z.string().nullable(),
      pciBusId: z.string().nullable(),
      driverVersion: z.string().nullable(),
      utilizationGpu: n(),
      utilizationMemory: n(),
      temperatureGpu: n(),
      temperatureMemory: n(),
      memoryUsedMiB: n(),
      memoryTotalMiB: n(),
      powerDrawW: n(),
      powerLimitW: n(),
      clockGraphicsMHz: n(),
      clockMemoryMHz: n(),
      fanPercent: n(),
      pstate: z.string().nullable(),
      throttleReasons: ZThrottleReasons.nullable(),
      eccCorrected: n(),
      eccUncorrected: n(),
      migEnabled: z.boolean().nullable(),
      sampledAt: ZIsoDateTime,
      missing: z.boolean(),
    }),
  ),
  charts: z.object({
    hour: z
      .array(z.object({ gpuIndex: z.number().int(), points: z.array(z.tuple([z.number(), n(), n(), n(), n()])) }))
      .describe('Per raw sample of the last hour: [t ms, util %, temp °C, power W, memory used MiB]'),
    day: z
      .array(z.object({ gpuIndex: z.number().int(), points: z.array(z.array(n())) }))
      .describe('5-minute buckets of the last day: [t ms, avg util, max temp, avg power, max memory]'),
  }),
  alerts: z.array(ZAlert).describe('The last 50, newest first'),
  lastSmoke: z
    .object({
      id: z.string(),
      state: z.string(),
      at: ZIsoDateTime.nullable(),
      reason: z.string().nullable(),
      totalMs: z.number().nullable(),
      prompt: z.string(),
    })
    .nullable(),
});

export const ZRevokeNodeResponse = z.object({ id: z.string(), revokedAt: ZIsoDateTime });
