/** smoke.*: start a generation smoke test on nodes (or the console) and read its runs. */
import { z } from 'zod';
import { MAX_HEIGHT, MAX_SEED, MAX_WIDTH, MIN_HEIGHT, MIN_SEED, MIN_WIDTH } from '@coolant/generator';
import { ZSmokeRun, ZSmokeRunPage, ZSmokeStarted } from '../domain/smoke/smoke-responses';
import { outputSchemas } from '../openapi/output-schemas';
import { operatorProcedure, router, viewerProcedure } from '../trpc';

export const ZSmokeRunRequest = z.strictObject({
  target: z.string().min(1, 'target is required: "local", "all" or a node id').max(64),
  prompt: z.string().max(64, 'prompt: at most 64 characters'),
  seed: z.number().int('seed must be a whole number').min(MIN_SEED).max(MAX_SEED, `seed must be at most ${MAX_SEED}`),
  size: z
    .strictObject({
      width: z.number().int().min(MIN_WIDTH).max(MAX_WIDTH),
      height: z.number().int().min(MIN_HEIGHT).max(MAX_HEIGHT),
    })
    .optional(),
  timeoutSeconds: z.number().int().min(1).max(600).default(30),
});

export const smokeRouter = router({
  run: operatorProcedure
    .input(ZSmokeRunRequest)
    .mutation(({ ctx, input }) => ctx.smoke.run({ actor: ctx.actor, ip: ctx.request.ip, ...input })),
  get: viewerProcedure
    .input(z.strictObject({ id: z.string().min(1) }))
    .query(({ ctx, input }) => ctx.smoke.get({ id: input.id })),
  list: viewerProcedure
    .input(
      z
        .strictObject({
          nodeId: z.string().optional(),
          batchId: z.string().optional(),
          limit: z.number().int().min(1).max(200).default(50),
          cursor: z.string().nullish(),
        })
        .optional(),
    )
    .query(({ ctx, input }) =>
      ctx.smoke.list({
        limit: input?.limit ?? 50,
        nodeId: input?.nodeId,
        batchId: input?.batchId,
        cursor: input?.cursor ?? undefined,
      }),
    ),
});

export const smokeOutputs = outputSchemas(smokeRouter, { run: ZSmokeStarted, get: ZSmokeRun, list: ZSmokeRunPage });
