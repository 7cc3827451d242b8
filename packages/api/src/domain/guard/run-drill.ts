/**
 * The drill, requester's half: asks the deciding instance (whichever holds the lease) to feed a
 * synthetic hot signal to a dry-run copy of the rules at its next evaluation (drill.ts), then
 * measures trigger → decision → commit → applied on every live instance. Live: the decision really
 * pauses the tier, and the drill resumes it once every instance applied the pause.
 */
import { AppError } from '../../lib/app-error';
import { actorName, GUARD_ACTOR } from '../actors/actor';
import { INSTANCE_LIVE_MS, type ConfigSync } from '../admission/config-sync';
import { recordAudit } from '../audit/record-audit';
import { propagationOf } from '../tiers/propagation';
import type { TGuardRequest } from './guard-request';
import { shapeDrill } from './guard-history';
import { loadGuard } from './guard-state';
import { undoStep } from './ladder-step';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDrill(
  req: TGuardRequest & { config: ConfigSync; clock: () => Date; live: boolean; tier?: string | undefined },
) {
  const { db } = req;
  const tierName = req.tier;
  if (req.live && !tierName) throw new AppError('BAD_REQUEST', 'tier: a live drill needs the tier to pause');
  const row = await loadGuard(db);
  if (req.live && tierName) {
    const tier = await db.tier.findUnique({ where: { name: tierName } });
    if (!tier) throw new AppError('NOT_FOUND', `tier: no tier named "${tierName}"`);
    if (tier.pausedAt) throw new AppError('CONFLICT', `tier "${tierName}" is already paused`);
  }
  const requestedAt = req.clock();
  const drill = await db.guardDrill.create({
    data: {
      requestedAt,
      requestedBy: actorName(req.actor),
      live: req.live,
      tier: tierName ?? null,
      state: 'requested',
    },
  });
  const deadline = Date.now() + (row.config.intervalSeconds * 2 + 10) * 1000;
  let d = drill;
  while (d.state === 'requested' || d.state === 'deciding') {
    if (Date.now() > deadline) {
      await db.guardDrill.update({
        where: { id: drill.id },
        data: { state: 'failed', error: 'no decision: is the guard evaluating on some instance?' },
      });
      throw new AppError(
        'UNAVAILABLE',
        'drill: no instance decided within two evaluation intervals (is any console running the guard?)',
      );
    }
    await sleep(20);
    d = await db.guardDrill.findUniqueOrThrow({ where: { id: drill.id } });
  }
  if (d.state === 'failed' || d.configVersion === null) throw new AppError('CONFLICT', d.error ?? 'drill failed');
  const version = d.configVersion;
  // Every live instance applying that version (or a later one) is the end of the chain.
  const liveSince = new Date(req.clock().getTime() - INSTANCE_LIVE_MS);
  const instanceIds = (await db.instance.findMany({ where: { heartbeatAt: { gte: liveSince } } })).map((i) => i.id);
  let appliedAllAt: Date | null = null;
  const until = Date.now() + 5_000;
  while (Date.now() < until) {
    const applications = await db.configApplication.findMany({
      where: { version: { gte: version }, instanceId: { in: instanceIds } },
    });
    appliedAllAt = propagationOf({ version, instanceIds, applications }).appliedByAllAt;
    if (appliedAllAt) break;
    await sleep(10);
  }
  if (req.live && tierName) {
    await req.config.mutate(async (tx, v) => {
      await undoStep({
        tx,
        version: v,
        now: req.clock(),
        record: { tier: tierName, action: 'pause', tempLimitId: null },
        guard: { rule: `drill:${drill.id}`, step: 0, signal: null, guardConfigVersion: row.configVersion },
      });
    });
  }
  const ms = (x: Date | null) => (x ? x.getTime() - requestedAt.getTime() : null);
  const done = await db.guardDrill.update({
    where: { id: drill.id },
    data: {
      state: appliedAllAt ? 'done' : 'failed',
      appliedAllAt,
      instances: instanceIds.length,
      decisionMs: ms(d.decidedAt),
      commitMs: ms(d.committedAt),
      propagationMs: ms(appliedAllAt),
      ...(appliedAllAt ? {} : { error: 'not every live instance applied the change within 5 s' }),
    },
  });
  await recordAudit({
    db,
    actor: req.actor,
    action: 'guard.drill',
    target: tierName ?? 'guard',
    reason: req.live ? `live drill on ${tierName}` : 'dry-run drill',
    details: shapeDrill(done),
    ip: req.ip ?? null,
  });
  return {
    ...shapeDrill(done),
    intervalSeconds: row.config.intervalSeconds,
    applyAfterCommitMs: appliedAllAt && d.committedAt ? appliedAllAt.getTime() - d.committedAt.getTime() : null,
    actor: GUARD_ACTOR.name,
  };
}
