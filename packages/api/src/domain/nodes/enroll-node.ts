/**
 * A new node trades the shared enrollment secret for a token of its own. An agent sends the same
 * enroll key (a random secret it keeps in its state dir) with every attempt, so an enrollment whose
 * first answer was lost (a timeout under a burst of hosts starting at once) finds the node that
 * attempt created instead of adding another: the node token is derived from the enrollment secret
 * and the key, so every attempt, concurrent ones included, answers the same token.
 */
import { createHmac } from 'node:crypto';
import type { TDb } from '@coolant/db';
import { AppError } from '../../lib/app-error';
import { newSecret, safeEqualHex, sha256 } from '../../lib/secrets';
import type { PruneSchedule } from '../audit/prune-schedule';
import { recordAnonymousFailure } from '../audit/record-anonymous-failure';
import { recordAudit } from '../audit/record-audit';
import type { TConfigMutator } from '../tiers/tier-request';

export type TEnrollNodeRequest = {
  db: TDb;
  enrollmentSecret: string;
  presentedSecret: string;
  /** The agent's enroll key; absent from older agents (each of their attempts is a new node). */
  enrollKey: string | null;
  hostname: string;
  agentVersion: string | null;
  os: string | null;
  ip: string | null;
  now: Date;
  /** The services' prune schedule (services.pruning). */
  pruning: PruneSchedule;
  /** A node's token replaced (a rotated secret) bumps the config version: every instance drops cached credentials. */
  config: TConfigMutator;
};

function derivedNodeToken(req: { enrollmentSecret: string; enrollKey: string }): string {
  return `cn_${createHmac('sha256', req.enrollmentSecret).update(`node-token:${req.enrollKey}`).digest('base64url')}`;
}

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
  const enrollKeyHash = req.enrollKey === null ? null : sha256(req.enrollKey);
  const nodeToken =
    req.enrollKey === null
      ? newSecret('cn')
      : derivedNodeToken({ enrollmentSecret: req.enrollmentSecret, enrollKey: req.enrollKey });
  for (let attempt = 1; ; attempt++) {
    if (enrollKeyHash !== null) {
      const again = await enrollAgain({ ...req, enrollKeyHash, nodeToken });
      if (again) return again;
    }
    try {
      return await createNode({ ...req, enrollKeyHash, nodeToken });
    } catch (error) {
      // A concurrent attempt with the same key created the node first: answer as that node.
      const raced = enrollKeyHash !== null && (error as { code?: string }).code === 'P2002';
      if (!raced || attempt >= 2) throw error;
    }
  }
}

/** The node an earlier attempt with this enroll key created, with the token every attempt derives. */
async function enrollAgain(
  req: TEnrollNodeRequest & { enrollKeyHash: string; nodeToken: string },
): Promise<{ nodeId: string; nodeToken: string } | null> {
  const node = await req.db.node.findUnique({
    where: { enrollKeyHash: req.enrollKeyHash },
    select: { id: true, revokedAt: true, tokenHash: true },
  });
  if (!node) return null;
  if (node.revokedAt) {
    throw new AppError(
      'FORBIDDEN',
      `node ${node.id} was revoked by an admin; delete the agent's state dir (node.json, enroll-key) to enroll as a new node`,
    );
  }
  const tokenHash = sha256(req.nodeToken);
  // The same token unless the enrollment secret was rotated since: then this attempt's token is the node's.
  // The old token's cached credential goes with the version bump this commits with, on every instance.
  if (node.tokenHash !== tokenHash) {
    await req.config.mutate(async (tx) => {
      await tx.node.update({ where: { id: node.id }, data: { tokenHash } });
      await recordAudit({
        db: tx,
        actor: { kind: 'node', id: node.id, name: req.hostname },
        action: 'node.enroll',
        target: node.id,
        details: { hostname: req.hostname, agentVersion: req.agentVersion, again: true },
        ip: req.ip,
      });
    });
  }
  return { nodeId: node.id, nodeToken: req.nodeToken };
}

async function createNode(req: TEnrollNodeRequest & { enrollKeyHash: string | null; nodeToken: string }) {
  // The node and its audit row in one transaction: never a node nobody can trace to its enrollment.
  const node = await req.db.$transaction(async (tx) => {
    const created = await tx.node.create({
      data: {
        hostname: req.hostname,
        tokenHash: sha256(req.nodeToken),
        enrollKeyHash: req.enrollKeyHash,
        agentVersion: req.agentVersion,
        os: req.os,
      },
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
  return { nodeId: node.id, nodeToken: req.nodeToken };
}
