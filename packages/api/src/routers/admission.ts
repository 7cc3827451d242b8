import { z } from 'zod';
import { gatewayProcedure, router } from '../trpc';

export const MAX_COST = 1000;

export const ZConsumeRequest = z.strictObject({
  tier: z.string().min(1, 'tier is required').max(64),
  subject: z
    .string()
    .min(1, 'subject must not be empty')
    .refine((s) => Buffer.byteLength(s, 'utf8') <= 256, 'subject must be at most 256 bytes'),
  cost: z.number().int('cost must be a whole number').min(1, 'cost must be at least 1').max(MAX_COST, `cost must be at most ${MAX_COST}`).default(1),
  requestId: z.string().min(1).max(128).optional(),
});
export type TConsumeInput = z.infer<typeof ZConsumeRequest>;

export const admissionRouter = router({
  consume: gatewayProcedure.input(ZConsumeRequest).mutation(({ ctx, input }) => ctx.admission.consume(input)),
  refund: gatewayProcedure
    .input(z.strictObject({ ticket: z.string().min(1, 'ticket is required').max(2048) }))
    .mutation(({ ctx, input }) => ctx.admission.refund(input.ticket)),
});
