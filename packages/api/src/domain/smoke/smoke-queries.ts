/** Reading smoke runs for the pages: one run with its pixels, or a page of runs with their pictures. */
import type { TDb } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { runDetailSelect, runListSelect, shapeRun } from './smoke-run-shape';

export async function getSmokeRun(req: { db: TDb; id: string }) {
  const r = await req.db.smokeRun.findUnique({ where: { id: req.id }, select: runDetailSelect });
  if (!r) throw new AppError('NOT_FOUND', `id: no smoke run ${req.id}`);
  return shapeRun(r);
}

export type TListSmokeRunsRequest = {
  nodeId?: string | undefined;
  batchId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
};

/** Newest first; `nextCursor` is the last run's id when there are more. */
export async function listSmokeRuns(req: TListSmokeRunsRequest & { db: TDb }) {
  const rows = await req.db.smokeRun.findMany({
    where: { ...(req.nodeId ? { nodeId: req.nodeId } : {}), ...(req.batchId ? { batchId: req.batchId } : {}) },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: req.limit + 1,
    ...(req.cursor ? { cursor: { id: req.cursor }, skip: 1 } : {}),
    select: runListSelect,
  });
  const page = rows.slice(0, req.limit);
  const last = page[page.length - 1];
  return {
    runs: page.map((r) => shapeRun(r)),
    nextCursor: rows.length > req.limit && last ? last.id : null,
  };
}
