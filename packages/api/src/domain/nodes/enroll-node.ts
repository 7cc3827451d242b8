/** A new node trades the shared enrollment secret for a token of its own. */
import type { TDb } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { newSecret, safeEqualHex, sha256 } from '../../lib/secrets';
import type { PruneSchedule } from '../audit/prune-schedule';
import { recordAnonymousFailure } from '../audit/record-anonymous-failure';
import { recordAudit } from '../audit/record-audit';

export type TEnrollNodeRequest = {
  db: TDb;
  enrollmentSecret: string;
  presentedSecret: string;
  hostname: string;
  agentVersion: string | null;
  os: string | null;
  ip: string | null;
  now: Date;
  /** The services' prune schedule (services.pruning). */
  pruning: PruneSchedule;
};

/** Trades the shared enrollment secret for a node token of this node's own. */
export async function enrollNode(req: TEnrollNodeRequest) {
  if (!safeEqualHex(sha256(req.presentedSecret), sha256(req.enrollmentSecret))) {
    // Anyone can send this: counted into one row per source and window, not a row per attempt.
    await recordAnonymousFailure({
      db: req.db,
      action: 'node.enroll_failed',
      target: req.hostname,
      reason: 'wrong enrollment token',
      ip: req.ip,
      at: req.now,
      pruning: req.pruning,
    });
    throw new AppError('UNAUTHORIZED', 'Wrong enrollment token');
  }
  const nodeToken = newSecret('cn');
  // The node and its audit row in one transaction: never a node nobody can trace to its enrollment.
  const node = await req.db.$transaction(async (tx) => {
    const created = await tx.node.create({
      data: { hostname: req.hostname, tokenHash: sha256(nodeToken), agentVersion: req.agentVersion, os: req.os },
    });
    await recordAudit({
      db: tx,
      actor: { kind: 'node', id: created.id, name: created.hostname },
      action: 'node.enroll',
      target: created.id,
      details: { hostname: created.hostname, agentVersion: created.agentVersion },
      ip: req.ip,
    });
    return created;
  });
  return { nodeId: node.id, nodeToken };
}
