/** An operator arms the guard: its streaks start afresh, what it shed stays recorded. */
import { AppError } from '../../lib/app-error';
import { actorName } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import type { TGuardRequest } from './guard-request';
import { casGuardState, loadGuard, type TGuardRuntime } from './guard-state';

export async function armGuard(req: TGuardRequest) {
  const row = await loadGuard(req.db);
  const runtime: TGuardRuntime = {
    ...row.runtime,
    rules: Object.fromEntries(
      Object.entries(row.runtime.rules).map(([id, rt]) => [
        id,
        { ...rt, aboveSince: null, belowSince: null, holding: null },
      ]),
    ),
  };
  const armed = await req.db.$transaction(async (tx) => {
    if ((await casGuardState({ db: tx, seq: row.seq, runtime, armed: true, updatedBy: actorName(req.actor) })) === null)
      return false;
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'guard.arm',
      target: 'guard',
      reason: req.reason,
      details: { guardConfigVersion: row.configVersion },
      ip: req.ip ?? null,
    });
    return true;
  });
  if (!armed) throw new AppError('CONFLICT', 'the guard is deciding right now; try again');
  return { armed: true, configVersion: row.configVersion };
}
