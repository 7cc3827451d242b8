/**
 * Queuing a smoke test: which nodes it targets (one, every online node, or the console itself),
 * the reference checksum they must match, one queued run per target and the audit row. Handing
 * the runs to their takers is the service's part (it holds the waiting polls).
 */
import { randomBytes } from 'node:crypto';
import type { TDb } from '@coolant/db';
import { validateGenerateRequest } from '@coolant/generator';
import { actorName, type TActor } from '../actors/actor';
import { AppError } from '../../lib/app-error';
import { recordAudit } from '../audit/record-audit';
import { nodeStatus } from '../fleet/node-status';
import type { SmokeReferences, TSmokeSize } from './smoke-reference';
import { runSelect, type TRunRow } from './smoke-run-shape';

/** The console draws it itself, on a worker thread. */
export const LOCAL_TARGET = 'local';

export type TSmokeTarget = 'local' | 'all' | string;
export type TSmokeRunRequest = {
  actor: TActor;
  ip: string | null;
  target: TSmokeTarget;
  prompt: string;
  seed: number;
  size?: TSmokeSize | undefined;
  timeoutSeconds: number;
};

type TTarget = { nodeId: string | null; hostname: string | null };

async function resolveTargets(req: {
  db: TDb;
  now: Date;
  offlineAfterMs: number;
  target: TSmokeTarget;
}): Promise<TTarget[]> {
  const { db, now, offlineAfterMs } = req;
  if (req.target === LOCAL_TARGET) return [{ nodeId: null, hostname: null }];
  if (req.target === 'all') {
    const nodes = await db.node.findMany({ where: { revokedAt: null } });
    const online = nodes.filter((n) => nodeStatus({ node: n, now, offlineAfterMs }) === 'online');
    if (online.length === 0) throw new AppError('BAD_REQUEST', 'target: no node is online');
    return online.map((n) => ({ nodeId: n.id, hostname: n.hostname }));
  }
  const node = await db.node.findUnique({ where: { id: req.target } });
  if (!node || node.revokedAt) throw new AppError('BAD_REQUEST', `target: unknown node "${req.target}"`);
  if (nodeStatus({ node, now, offlineAfterMs }) === 'offline')
    throw new AppError('BAD_REQUEST', `target: node ${node.hostname} is offline`);
  return [{ nodeId: node.id, hostname: node.hostname }];
}

export async function startSmokeRun(
  req: TSmokeRunRequest & { db: TDb; now: Date; offlineAfterMs: number; references: SmokeReferences },
): Promise<{ batchId: string; expectedChecksum: string; runs: TRunRow[] }> {
  const { db, now } = req;
  const problems = validateGenerateRequest({ prompt: req.prompt, seed: req.seed, ...(req.size ?? {}) });
  if (problems.length)
    throw new AppError('BAD_REQUEST', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });
  const targets = await resolveTargets({ db, now, offlineAfterMs: req.offlineAfterMs, target: req.target });
  const reference = await req.references.get({ prompt: req.prompt, seed: req.seed, size: req.size });
  const batchId = `b_${randomBytes(6).toString('hex')}`;
  const timeoutAt = new Date(now.getTime() + req.timeoutSeconds * 1000);
  const runs: TRunRow[] = [];
  for (const t of targets) {
    runs.push(
      await db.smokeRun.create({
        data: {
          batchId,
          target: t.nodeId ?? LOCAL_TARGET,
          nodeId: t.nodeId,
          hostname: t.hostname,
          prompt: req.prompt,
          seed: BigInt(req.seed),
          width: reference.width,
          height: reference.height,
          state: 'queued',
          createdBy: actorName(req.actor),
          timeoutAt,
          expectedChecksum: reference.checksum,
        },
        select: runSelect,
      }),
    );
  }
  await recordAudit({
    db,
    actor: req.actor,
    action: 'smoke.run',
    target: req.target,
    details: {
      batchId,
      prompt: req.prompt,
      seed: req.seed,
      width: reference.width,
      height: reference.height,
      runs: runs.map((r) => r.id),
    },
    ip: req.ip,
  });
  return { batchId, expectedChecksum: reference.checksum, runs };
}
