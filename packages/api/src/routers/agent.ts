/** agent.*: what a node's agent calls: enroll, report telemetry, its accepted sequence, smoke jobs. */
import { z } from 'zod';
import { readAcceptedSeq } from '../domain/fleet/read-accepted-seq';
import { enrollNode } from '../domain/nodes/enroll-node';
import { ZTelemetrySample } from '@coolant/telemetry/schema';
import { defineHotProcedure } from '../hot-procedure';
import { outputSchemas } from '../openapi/output-schemas';
import { agentProcedure, hotMutation, publicProcedure, router } from '../trpc';

export const ZEnrollRequest = z.strictObject({
  enrollToken: z.string().min(1, 'enrollToken is required').max(512),
  hostname: z.string().trim().min(1).max(253),
  agentVersion: z.string().max(64).optional(),
  os: z.string().max(200).optional(),
  /** A random secret the agent keeps and sends with every attempt: a retried enrollment finds its node. */
  enrollKey: z.string().min(32, 'enrollKey must be at least 32 characters').max(256).optional(),
});

/** A batch of samples, oldest first: the agent drains its spool through this. */
export const ZReportRequest = z.strictObject({
  agentVersion: z.string().max(64).optional(),
  intervalSeconds: z.number().min(1).max(3600),
  samples: z.array(ZTelemetrySample).min(1, 'samples must not be empty').max(100, 'at most 100 samples per report'),
});
export type TReportRequest = z.infer<typeof ZReportRequest>;

/** The agents' reports, served by the router and by the console's plain-HTTP path alike. */
export const reportProcedure = defineHotProcedure({
  path: 'agent.report',
  access: 'agent',
  input: ZReportRequest,
  // A spool drained after an outage: up to 100 samples of up to 64 GPUs.
  maxBody: 8 * 1024 * 1024,
  handler: (input, actor, services) =>
    services.fleet.ingest({
      nodeId: actor.id,
      intervalSeconds: Math.round(input.intervalSeconds),
      agentVersion: input.agentVersion ?? null,
      samples: input.samples,
    }),
});

export const ZJobResultRequest = z.strictObject({
  jobId: z.string().min(1),
  /** Rows drawn since the last call: y and the row's palette indices, base64. */
  rows: z
    .array(z.strictObject({ y: z.number().int().min(0), data: z.string().max(8192) }))
    .max(1024)
    .default([]),
  done: z
    .strictObject({
      checksum: z.string().regex(/^[0-9a-f]{64}$/),
      modelVersion: z.string().max(128),
      firstRowMs: z.number().min(0),
      totalMs: z.number().min(0),
    })
    .optional(),
  error: z.string().max(2000).optional(),
});

export const agentRouter = router({
  /** Public: the caller proves itself with the enrollment secret in the input. */
  enroll: publicProcedure.input(ZEnrollRequest).mutation(async ({ ctx, input }) =>
    enrollNode({
      db: ctx.db,
      enrollmentSecret: await ctx.enrollmentSecret(),
      presentedSecret: input.enrollToken,
      enrollKey: input.enrollKey ?? null,
      hostname: input.hostname,
      agentVersion: input.agentVersion ?? null,
      os: input.os ?? null,
      ip: ctx.request.ip,
      now: ctx.now(),
      pruning: ctx.pruning,
      config: ctx.config,
    }),
  ),
  /** Long poll: a smoke job for this node, or null after waitMs. */
  nextJob: agentProcedure
    .input(z.strictObject({ waitMs: z.number().int().min(0).max(30_000) }))
    .mutation(async ({ ctx, input, signal }) => ({
      job: await ctx.smoke.nextJob({ nodeId: ctx.actor.id, waitMs: input.waitMs, signal }),
    })),
  jobResult: agentProcedure
    .input(ZJobResultRequest)
    .mutation(({ ctx, input }) => ctx.smoke.jobResult({ nodeId: ctx.actor.id, ...input })),
  /** What the console has stored of this node: an agent whose spool lost its numbering asks before sending. */
  sequence: agentProcedure.query(({ ctx }) => readAcceptedSeq({ db: ctx.db, nodeId: ctx.actor.id })),
  report: hotMutation(reportProcedure),
});

export const agentOutputs = outputSchemas(agentRouter, {
  enroll: z.object({
    nodeId: z.string(),
    nodeToken: z.string().describe("The node's Bearer token for agent.*: shown once"),
  }),
  nextJob: z.object({
    job: z
      .object({
        id: z.string(),
        prompt: z.string(),
        seed: z.number().int(),
        width: z.number().int(),
        height: z.number().int(),
        timeoutMs: z.number(),
      })
      .nullable()
      .describe('null: nothing queued for this node within waitMs'),
  }),
  jobResult: z.object({ ok: z.literal(true), state: z.string().describe("The run's state after this result") }),
  sequence: z.object({ acceptedUpTo: z.number().int().describe('The highest seq stored for this node') }),
  report: z.object({
    acceptedUpTo: z.number().int().describe('Every sample up to this seq is stored: drop them from the spool'),
    accepted: z.number().int(),
    duplicates: z.number().int(),
    gpuSamples: z.number().int(),
  }),
});
