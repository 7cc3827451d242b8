/**
 * What a smoke run's row shows, in one place: the select constants (so no column leaks by
 * accident, and pixels or png are read only where they are shown), the row types derived from
 * them (so a column's type comes from the schema, never from a cast) and the shape the API answers.
 */
import type { Prisma } from '@coolant/db';
import { PALETTE } from '@coolant/generator';

export const runSelect = {
  id: true,
  batchId: true,
  target: true,
  nodeId: true,
  hostname: true,
  prompt: true,
  seed: true,
  width: true,
  height: true,
  state: true,
  reason: true,
  createdBy: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  timeoutAt: true,
  rowsDone: true,
  firstRowMs: true,
  totalMs: true,
  pixelsPerSecond: true,
  checksum: true,
  modelVersion: true,
  expectedChecksum: true,
  match: true,
} satisfies Prisma.SmokeRunSelect;
/** One run as its page shows it: the streamed pixels and the finished picture. */
export const runDetailSelect = { ...runSelect, pixels: true, png: true } satisfies Prisma.SmokeRunSelect;
/** A list shows each run's picture, not its pixels. */
export const runListSelect = { ...runSelect, png: true } satisfies Prisma.SmokeRunSelect;

/** What claiming a job needs of its row, and no more (no pixels or png). */
export const jobSelect = {
  id: true,
  nodeId: true,
  prompt: true,
  seed: true,
  width: true,
  height: true,
  timeoutAt: true,
} satisfies Prisma.SmokeRunSelect;

export type TRunRow = Prisma.SmokeRunGetPayload<{ select: typeof runSelect }>;
export type TJobRow = Prisma.SmokeRunGetPayload<{ select: typeof jobSelect }>;
/** A queued job that has a node to run it (the long polls' tick reads only those). */
export type TNodeJobRow = TJobRow & { nodeId: string };

const STATES = ['queued', 'running', 'passed', 'failed'] as const;
export type TSmokeState = (typeof STATES)[number];

/** The column is a string; a value outside the four is a corrupt row, said as such rather than passed on. */
export function smokeState(state: string): TSmokeState {
  const known = STATES.find((s) => s === state);
  if (!known) throw new Error(`smoke run state "${state}" is none of ${STATES.join(', ')}`);
  return known;
}

export function shapeRun(r: TRunRow & { pixels?: Uint8Array | null; png?: Uint8Array | null }) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: r.id,
    batchId: r.batchId,
    target: r.target,
    nodeId: r.nodeId,
    hostname: r.hostname,
    prompt: r.prompt,
    seed: Number(r.seed),
    width: r.width,
    height: r.height,
    state: smokeState(r.state),
    reason: r.reason,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    timeoutAt: r.timeoutAt.toISOString(),
    rowsDone: r.rowsDone,
    firstRowMs: r.firstRowMs,
    totalMs: r.totalMs,
    pixelsPerSecond: r.pixelsPerSecond,
    checksum: r.checksum,
    modelVersion: r.modelVersion,
    expectedChecksum: r.expectedChecksum,
    match: r.match,
    /** RGB of each palette index, for drawing `pixels` while the run streams. */
    palette: PALETTE.map((c) => [c[0], c[1], c[2]] as [number, number, number]),
    ...(r.pixels !== undefined ? { pixels: r.pixels ? Buffer.from(r.pixels).toString('base64') : null } : {}),
    ...(r.png !== undefined ? { png: r.png ? Buffer.from(r.png).toString('base64') : null } : {}),
  };
}
