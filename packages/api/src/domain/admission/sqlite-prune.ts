// Nightly-style cleanup of the SQLite admission tables: counters and deltas of ended windows,
// expired requestId answers and refunded tickets; then the freed pages go back to the file system.
import { withBusyRetry, type TDb, type TSqliteRaw } from '@coolant/db';
import { WINDOW_MINUTES, windowStartMin, type TWindow } from './windows';

export async function pruneSqliteAdmission(req: {
  db: TDb;
  raw: TSqliteRaw;
  now: Date;
}): Promise<{ counters: number }> {
  const { db, raw, now } = req;
  const nowMs = now.getTime();
  let counters = 0;
  for (const window of Object.keys(WINDOW_MINUTES) as TWindow[]) {
    const ended = { window, windowStartMin: { lt: windowStartMin(window, nowMs) } };
    // Deltas first: a fold between the two deletes then has nothing of the ended window left to write back.
    await db.quotaDelta.deleteMany({ where: ended });
    counters += (await db.quotaCounter.deleteMany({ where: ended })).count;
  }
  await db.admissionRequest.deleteMany({ where: { expiresAt: { lte: now } } });
  await db.refundedTicket.deleteMany({ where: { expiresAt: { lte: now } } });
  if (counters > 0) {
    // Give the freed pages back (auto_vacuum is incremental on databases Coolant created) and
    // truncate the WAL, so a day with millions of subjects does not leave the file at its peak.
    await withBusyRetry(() => {
      raw.exec('PRAGMA incremental_vacuum');
      raw.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    }).catch(() => {});
  }
  return { counters };
}
