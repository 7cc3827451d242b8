/**
 * What notifications.* answers, as zod schemas for the OpenAPI document: the
 * channels as admins may see them (never the webhook secret), their delivery
 * state, the alerts firing now, and what each receiver said to a test.
 * routers/notifications.ts holds them to the domain functions' types at
 * compile time; nothing parses an answer with them.
 */
import { z } from 'zod';
import { ZIsoDateTime } from '../iso-date-time';
import { CHANNELS } from './notification-config';

const ZChannelStatus = z.object({
  lastAttemptAt: ZIsoDateTime.nullable(),
  lastSuccessAt: ZIsoDateTime.nullable(),
  lastStatus: z.number().int().nullable().describe("The receiver's last HTTP status"),
  lastError: z.string().nullable(),
  consecutiveFailures: z.number().int(),
  nextAttemptAt: ZIsoDateTime.nullable().describe('When a failing channel is retried'),
  pending: z.number().int().describe('Events not yet delivered to this channel'),
});

export const ZNotificationsResponse = z.object({
  version: z.number().int(),
  updatedAt: ZIsoDateTime.nullable(),
  updatedBy: z.string().nullable(),
  alertmanager: z.object({ url: z.string() }).nullable(),
  webhook: z
    .object({ url: z.string(), secretSet: z.literal(true).describe('The secret itself is never sent') })
    .nullable(),
  delivery: z.object({ alertmanager: ZChannelStatus.nullable(), webhook: ZChannelStatus.nullable() }),
  active: z
    .array(
      z.object({
        alertname: z.string(),
        severity: z.enum(['critical', 'warning', 'info']),
        labels: z.record(z.string(), z.string()),
        summary: z.string(),
        startsAt: ZIsoDateTime,
      }),
    )
    .describe('The alerts firing now'),
});

export const ZSendTestResponse = z.object({
  results: z.array(
    z.object({
      channel: z.enum(CHANNELS),
      ok: z.boolean(),
      status: z.number().int().nullable().describe("The receiver's HTTP status; null when it was not reached"),
      error: z.string().nullable(),
    }),
  ),
});
