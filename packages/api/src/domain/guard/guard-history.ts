/** The guard's events (newest first, optionally of some kinds) and its recent drills. */
import type { TDb } from '@coolant/db';

export type TDrillRow = Awaited<ReturnType<TDb['guardDrill']['findFirstOrThrow']>>;

export function shapeDrill(d: TDrillRow) {
  const iso = (x: Date | null) => x?.toISOString() ?? null;
  return {
    ...d,
    requestedAt: d.requestedAt.toISOString(),
    decidedAt: iso(d.decidedAt),
    committedAt: iso(d.committedAt),
    appliedAllAt: iso(d.appliedAllAt),
  };
}

export async function guardHistory(req: { db: TDb; limit: number; kinds?: string[] | undefined }) {
  const { db } = req;
  const events = await db.guardEvent.findMany({
    where: req.kinds?.length ? { kind: { in: req.kinds } } : {},
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    take: req.limit,
  });
  const drills = await db.guardDrill.findMany({ orderBy: { requestedAt: 'desc' }, take: 20 });
  return {
    events: events.map((e) => ({
      ...e,
      at: e.at.toISOString(),
      signal: e.signal ? (JSON.parse(e.signal) as unknown) : null,
    })),
    drills: drills.map(shapeDrill),
  };
}
