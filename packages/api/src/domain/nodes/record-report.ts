import type { TDb } from '@coolant/db';

export type TRecordReportRequest = {
  db: TDb;
  nodeId: string;
  seq: number;
  agentVersion: string | null;
  now: Date;
};

/**
 * Accepts one agent report. The sequence number makes retries harmless: a
 * report at or below the highest accepted one is acknowledged as a duplicate
 * and changes nothing. The conditional update is the check, so two racing
 * deliveries of one report cannot both be counted.
 */
export async function recordReport(req: TRecordReportRequest) {
  const accepted = await req.db.node.updateMany({
    where: { id: req.nodeId, lastSeq: { lt: req.seq }, revokedAt: null },
    data: { lastSeq: req.seq, lastSeenAt: req.now, ...(req.agentVersion ? { agentVersion: req.agentVersion } : {}) },
  });
  if (accepted.count === 0) {
    await req.db.node.updateMany({ where: { id: req.nodeId }, data: { lastSeenAt: req.now } });
  }
  return { accepted: accepted.count === 1, duplicate: accepted.count === 0, serverTime: req.now.toISOString() };
}
