/**
 * admission.*: the gateway asks whether a request may run (consume, optionally holding a generation
 * lease), gives back what it did not use (refund), and ends or extends a lease (release, heartbeat).
 */
import { z } from 'zod';
import {
  ZConsumeResponse,
  ZHeartbeatResponse,
  ZRefundResponse,
  ZReleaseResponse,
} from '../domain/admission/admission-responses';
import { LEASE_TTL_MAX_SECONDS, LEASE_TTL_MIN_SECONDS } from '../domain/admission/leases/lease-types';
import type { TConsumeResponse } from '../domain/admission/types';
import { defineHotProcedure } from '../hot-procedure';
import { rateLimitHeaders } from '../lib/rate-limit-headers';
import { outputSchemas } from '../openapi/output-schemas';
import { hotMutation, router } from '../trpc';

export const MAX_COST = 1000;

function ZTtlSeconds(name: string) {
  return z
    .number({ error: `${name} must be a number of seconds` })
    .int(`${name} must be a whole number of seconds`)
    .min(LEASE_TTL_MIN_SECONDS, `${name} must be at least ${LEASE_TTL_MIN_SECONDS} s`)
    .max(LEASE_TTL_MAX_SECONDS, `${name} must be at most ${LEASE_TTL_MAX_SECONDS} s`);
}

const ZLeaseId = z
  .string({ error: 'lease is required (the id a consume answered)' })
  .min(1, 'lease is required')
  .max(64);

export const ZConsumeRequest = z.strictObject({
  tier: z.string().min(1, 'tier is required').max(64),
  subject: z
    .string()
    .min(1, 'subject must not be empty')
    .refine((s) => Buffer.byteLength(s, 'utf8') <= 256, 'subject must be at most 256 bytes'),
  cost: z
    .number()
    .int('cost must be a whole number')
    .min(1, 'cost must be at least 1')
    .max(MAX_COST, `cost must be at most ${MAX_COST}`)
    .default(1),
  requestId: z.string().min(1).max(128).optional(),
  lease: z.strictObject({ ttlSeconds: ZTtlSeconds('lease.ttlSeconds') }).optional(),
});
export type TConsumeInput = z.infer<typeof ZConsumeRequest>;

export const ZRefundRequest = z.strictObject({ ticket: z.string().min(1, 'ticket is required').max(2048) });

export const ZReleaseRequest = z.strictObject({
  lease: ZLeaseId,
  outcome: z.enum(['done', 'failed'], { error: "outcome must be 'done' or 'failed'" }),
});

export const ZHeartbeatRequest = z.strictObject({ lease: ZLeaseId, ttlSeconds: ZTtlSeconds('ttlSeconds').optional() });

/** Every answer carries `lease`: null when no lease was asked for. */
function withLeaseField(r: TConsumeResponse): TConsumeResponse {
  return r.lease === undefined ? { ...r, lease: null } : r;
}

/** The gateway's calls, served by the router and by the console's plain-HTTP path alike. */
export const consumeProcedure = defineHotProcedure({
  path: 'admission.consume',
  access: 'gateway',
  input: ZConsumeRequest,
  maxBody: 16 * 1024,
  handler: (input, actor, services) =>
    (input.lease
      ? services.admission.consume({ ...input, holder: actor.name })
      : services.admission.consume(input)
    ).then(withLeaseField),
  headers: rateLimitHeaders,
});

export const refundProcedure = defineHotProcedure({
  path: 'admission.refund',
  access: 'gateway',
  input: ZRefundRequest,
  maxBody: 16 * 1024,
  handler: (input, _actor, services) => services.admission.refund({ ticket: input.ticket }),
});

export const releaseProcedure = defineHotProcedure({
  path: 'admission.release',
  access: 'gateway',
  input: ZReleaseRequest,
  maxBody: 4 * 1024,
  handler: (input, _actor, services) => services.admission.leases.release(input),
});

export const heartbeatProcedure = defineHotProcedure({
  path: 'admission.heartbeat',
  access: 'gateway',
  input: ZHeartbeatRequest,
  maxBody: 4 * 1024,
  handler: (input, _actor, services) => services.admission.leases.heartbeat(input),
});

export const admissionRouter = router({
  consume: hotMutation(consumeProcedure),
  refund: hotMutation(refundProcedure),
  release: hotMutation(releaseProcedure),
  heartbeat: hotMutation(heartbeatProcedure),
});

/** Documentation only (openapi/output-schemas.ts): the plain-HTTP path sends the handler's value unparsed. */
export const admissionOutputs = outputSchemas(admissionRouter, {
  consume: ZConsumeResponse,
  refund: ZRefundResponse,
  release: ZReleaseResponse,
  heartbeat: ZHeartbeatResponse,
});
