import type { TDb } from '@coolant/db';
import { AppError } from '../../lib/app-error';

/**
 * The highest seq this node's reports have stored: what an agent whose spool lost its state asks
 * for before sending, so it numbers its new samples above it instead of having them taken for
 * duplicates (and deleted) by ingestReport.
 */
export async function readAcceptedSeq(req: { db: TDb; nodeId: string }): Promise<{ acceptedUpTo: number }> {
  const node = await req.db.node.findUnique({ where: { id: req.nodeId }, select: { lastSeq: true } });
  if (!node) throw new AppError('NOT_FOUND', 'this node no longer exists');
  // BigInt in the database (a spool may number past 2^31); the spool keeps it a safe integer.
  return { acceptedUpTo: Number(node.lastSeq) };
}
