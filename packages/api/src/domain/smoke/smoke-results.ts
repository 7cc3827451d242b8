/**
 * What a drawing sends back, row by row, and the verdict on it: the rows are checked against the
 * run's size, the final checksum against the rows that actually arrived and against the console's
 * reference. Agents and the console's local run report through these same functions.
 */
import type { TDb } from '@coolant/db';
import { encodePng, pictureChecksum } from '@coolant/generator';
import { AppError } from '../../lib/app-error';

export type TSmokeRows = { y: number; data: string }[];
export type TSmokeDone = { checksum: string; modelVersion: string; firstRowMs: number; totalMs: number };
export type TJobResultRequest = {
  nodeId: string;
  jobId: string;
  rows: TSmokeRows;
  done?: TSmokeDone | undefined;
  error?: string | undefined;
};

export async function applySmokeRows(req: { db: TDb; id: string; rows: TSmokeRows }): Promise<void> {
  const { db, id, rows } = req;
  if (rows.length === 0) return;
  const run = await db.smokeRun.findUniqueOrThrow({
    where: { id },
    select: { width: true, height: true, pixels: true, rowsDone: true },
  });
  const pixels = run.pixels ? Buffer.from(run.pixels) : Buffer.alloc(run.width * run.height);
  let rowsDone = run.rowsDone;
  for (const r of rows) {
    const data = Buffer.from(r.data, 'base64');
    if (!Number.isInteger(r.y) || r.y < 0 || r.y >= run.height || data.length !== run.width) {
      throw new AppError(
        'BAD_REQUEST',
        `rows: row ${r.y} must be 0..${run.height - 1} with ${run.width} pixels, got ${data.length}`,
      );
    }
    data.copy(pixels, r.y * run.width);
    rowsDone = Math.max(rowsDone, r.y + 1);
  }
  await db.smokeRun.update({ where: { id }, data: { pixels: new Uint8Array(pixels), rowsDone } });
}

export async function finishSmokeRun(req: { db: TDb; now: Date; id: string; done: TSmokeDone }): Promise<void> {
  const { db, id, done } = req;
  const run = await db.smokeRun.findUniqueOrThrow({
    where: { id },
    select: { state: true, width: true, height: true, pixels: true, rowsDone: true, expectedChecksum: true },
  });
  if (run.state !== 'running') return;
  const pixels = new Uint8Array(run.pixels ?? new Uint8Array(run.width * run.height));
  // The checksum must describe the pixels that actually arrived, or the report is not trusted.
  const streamed = pictureChecksum(done.modelVersion, run.width, run.height, pixels);
  const complete = run.rowsDone === run.height;
  const match = complete && streamed === done.checksum && done.checksum === run.expectedChecksum;
  const reason = !complete
    ? `only ${run.rowsDone} of ${run.height} rows arrived`
    : streamed !== done.checksum
      ? 'the reported checksum does not match the rows that were streamed'
      : done.checksum !== run.expectedChecksum
        ? `checksum ${done.checksum.slice(0, 12)}… differs from the reference ${run.expectedChecksum?.slice(0, 12)}… (node model ${done.modelVersion.slice(0, 12)}…)`
        : null;
  const pps = done.totalMs > 0 ? (run.width * run.height) / (done.totalMs / 1000) : null;
  await db.smokeRun.updateMany({
    where: { id, state: 'running' },
    data: {
      state: match ? 'passed' : 'failed',
      reason,
      finishedAt: req.now,
      checksum: done.checksum,
      modelVersion: done.modelVersion,
      firstRowMs: done.firstRowMs,
      totalMs: done.totalMs,
      pixelsPerSecond: pps,
      match,
      png: new Uint8Array(encodePng({ width: run.width, height: run.height, pixels })),
    },
  });
}

/** Fails a run that has not finished; one already decided keeps its verdict. */
export async function failSmokeRun(req: { db: TDb; now: Date; id: string; reason: string }): Promise<void> {
  await req.db.smokeRun.updateMany({
    where: { id: req.id, state: { in: ['queued', 'running'] } },
    data: { state: 'failed', reason: req.reason, finishedAt: req.now, match: false },
  });
}

/** A node's report on the job it holds: rows so far, then either its checksum or its error. */
export async function recordSmokeResult(
  req: TJobResultRequest & { db: TDb; now: () => Date },
): Promise<{ ok: true; state: string }> {
  const { db } = req;
  const run = await db.smokeRun.findUnique({ where: { id: req.jobId }, select: { nodeId: true, state: true } });
  if (!run || run.nodeId !== req.nodeId) throw new AppError('NOT_FOUND', `jobId: no job ${req.jobId} for this node`);
  if (run.state !== 'running') throw new AppError('CONFLICT', `job ${req.jobId} is ${run.state}`);
  await applySmokeRows({ db, id: req.jobId, rows: req.rows });
  if (req.error) await failSmokeRun({ db, now: req.now(), id: req.jobId, reason: `the node reported: ${req.error}` });
  else if (req.done) await finishSmokeRun({ db, now: req.now(), id: req.jobId, done: req.done });
  const after = await db.smokeRun.findUniqueOrThrow({ where: { id: req.jobId }, select: { state: true } });
  return { ok: true, state: after.state };
}
