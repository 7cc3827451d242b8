/**
 * An operator arms the guard: its streaks start afresh, what it shed stays recorded. A decider
 * that writes the guard's state between the read and the write here wins, and the arm reads it
 * again (as disarm does): an operator is not told to try again because a tick happened to commit.
 */
import { AppError } from '../../lib/app-error';
import { actorName } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import type { TGuardRequest } from './guard-request';
import { casGuardState, loadGuard, type TGuardRuntime } from './guard-state';

const ATTEMPTS = 5;

export async function armGuard(req: TGuardRequest) {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
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
      if (
        (await casGuardState({ db: tx, seq: row.seq, runtime, armed: true, updatedBy: actorName(req.actor) })) === null
      )
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
    if (armed) return { armed: true, configVersion: row.configVersion };
  }
  throw new AppError('CONFLICT', 'the guard kept deciding while arming; try again');
}
