/**
 * The "local" target: the console draws the job itself on a worker thread and streams its rows
 * through the same result path a node's agent uses, so a local run is judged exactly like a node's.
 */
import type { TDb } from '@coolant/db';
import { generateInWorker } from '@coolant/generator';
import { claimSmokeJob } from './smoke-claim';
import { applySmokeRows, failSmokeRun, finishSmokeRun, type TSmokeRows } from './smoke-results';

/** Rows are written every this often while the drawing runs, so the page can show it streaming. */
const FLUSH_MS = 100;

export async function runLocalSmoke(req: { db: TDb; now: () => Date; id: string }): Promise<void> {
  const { db, id } = req;
  const job = await claimSmokeJob({ db, now: req.now(), where: { id } });
  if (!job) return;
  const started = Date.now();
  let pending: TSmokeRows = [];
  let flushing = Promise.resolve();
  const flush = () => {
    const rows = pending;
    pending = [];
    flushing = flushing.then(() => applySmokeRows({ db, id, rows })).catch(() => {});
    return flushing;
  };
  const tick = setInterval(() => void flush(), FLUSH_MS);
  try {
    const result = await generateInWorker(
      { prompt: job.prompt, seed: job.seed, width: job.width, height: job.height },
      {
        timeoutMs: job.timeoutMs,
        onRow: (y, row) => void pending.push({ y, data: Buffer.from(row).toString('base64') }),
      },
    );
    clearInterval(tick);
    await flush();
    const done = {
      checksum: result.checksum,
      modelVersion: result.modelVersion,
      firstRowMs: result.timings.firstRowMs,
      totalMs: Date.now() - started,
    };
    await finishSmokeRun({ db, now: req.now(), id, done });
  } catch (error) {
    clearInterval(tick);
    await flush();
    const reason = `generation failed in the console: ${(error as Error).message}`;
    await failSmokeRun({ db, now: req.now(), id, reason });
  }
}
