/**
 * What smoke.* answers, as zod schemas for the OpenAPI document: a run as
 * shapeRun (smoke-run-shape.ts) sends it, a started batch, a page of runs.
 * routers/smoke.ts holds them to those types at compile time; nothing parses
 * an answer with them.
 */
import { z } from 'zod';
import { ZIsoDateTime } from '../iso-date-time';

export const ZSmokeRun = z.object({
  id: z.string(),
  batchId: z.string(),
  target: z.string(),
  nodeId: z.string().nullable().describe('null: the console ran it itself (target "local")'),
  hostname: z.string().nullable(),
  prompt: z.string(),
  seed: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  state: z.enum(['queued', 'running', 'passed', 'failed']),
  reason: z.string().nullable(),
  createdBy: z.string(),
  createdAt: ZIsoDateTime,
  startedAt: ZIsoDateTime.nullable(),
  finishedAt: ZIsoDateTime.nullable(),
  timeoutAt: ZIsoDateTime,
  rowsDone: z.number().int(),
  firstRowMs: z.number().nullable(),
  totalMs: z.number().nullable(),
  pixelsPerSecond: z.number().nullable(),
  checksum: z.string().nullable(),
  modelVersion: z.string().nullable(),
  expectedChecksum: z.string().nullable(),
  match: z.boolean().nullable().describe("Whether the picture's checksum is the reference's; null until finished"),
  palette: z
    .array(z.tuple([z.number().int(), z.number().int(), z.number().int()]))
    .describe('RGB of each palette index, for drawing pixels while the run streams'),
  pixels: z.string().nullable().optional().describe('The palette indices drawn so far, base64 (smoke.get only)'),
  png: z.string().nullable().optional().describe('The finished picture, base64 PNG (not in smoke.run)'),
});

export const ZSmokeStarted = z.object({
  batchId: z.string(),
  expectedChecksum: z.string().describe("The reference picture's checksum every run must match"),
  runs: z.array(ZSmokeRun),
});

export const ZSmokeRunPage = z.object({
  runs: z.array(ZSmokeRun).describe('Newest first'),
  nextCursor: z.string().nullable().describe('The next page: send it as cursor; null on the last page'),
});
