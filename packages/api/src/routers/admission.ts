/** admission.*: the gateway asks whether a request may run (consume) and gives back what it did not use (refund). */
import { z } from 'zod';
import { defineHotProcedure } from '../hot-procedure';
import { rateLimitHeaders } from '../lib/rate-limit-headers';
import { hotMutation, router } from '../trpc';

export const MAX_COST = 1000;

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
});
export type TConsumeInput = z.infer<typeof ZConsumeRequest>;

export const ZRefundRequest = z.strictObject({ ticket: z.string().min(1, 'ticket is required').max(2048) });

/** The gateway's calls, served by the router and by the console's plain-HTTP path alike. */
export const consumeProcedure = defineHotProcedure({
  path: 'admission.consume',
  access: 'gateway',
  input: ZConsumeRequest,
  maxBody: 16 * 1024,
  handler: (input, _actor, services) => services.admission.consume(input),
  headers: rateLimitHeaders,
});

export const refundProcedure = defineHotProcedure({
  path: 'admission.refund',
  access: 'gateway',
  input: ZRefundRequest,
  maxBody: 16 * 1024,
  handler: (input, _actor, services) => services.admission.refund({ ticket: input.ticket }),
});

export const admissionRouter = router({
  consume: hotMutation(consumeProcedure),
  refund: hotMutation(refundProcedure),
});
