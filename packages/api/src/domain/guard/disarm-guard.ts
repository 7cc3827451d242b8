/**
 * An operator disarms the guard. With restore (the default) it also undoes, newest first, every
 * step it took that is still its own, in one config change with the disarmed state.
 */
import { AppError } from '../../lib/app-error';
import { actorName } from '../actors/actor';
import type { ConfigSync } from '../admission/config-sync';
import { recordAudit } from '../audit/record-audit';
import { emptyRuleRuntime, type TRuleRuntime } from './decide';
import type { TGuardRequest } from './guard-request';
import { casGuardState, loadGuard } from './guard-state';
import { undoStep } from './ladder-step';

const ATTEMPTS = 5;

export async function disarmGuard(
  req: TGuardRequest & { config: ConfigSync; now: Date; restore?: boolean | undefined },
) {
  const restore = req.restore ?? true;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const row = await loadGuard(req.db);
    const now = req.now;
    const rules: Record<string, TRuleRuntime> = {};
    for (const [id, rt] of Object.entries(row.runtime.rules))
      rules[id] = restore
        ? { ...emptyRuleRuntime(), series: rt.series }
        : { ...rt, aboveSince: null, belowSince: null };
    const done = await req.config.mutate(async (tx, version) => {
      // The state first: a decider that wrote since it was read wins, and nothing here is written (the loop reads again).
      if (
        (await casGuardState({
          db: tx,
          seq: row.seq,
          runtime: { ...row.runtime, rules },
          armed: false,
          updatedBy: actorName(req.actor),
        })) === null
      )
        return null;
      const restored: string[] = [];
      if (restore) {
        for (const [id, rt] of Object.entries(row.runtime.rules)) {
          for (const s of [...rt.steps].reverse()) {
            if (
              s.status === 'applied' &&
              (await undoStep({
                tx,
                version,
                now,
                record: s,
                guard: { rule: id, step: s.step, signal: null, guardConfigVersion: row.configVersion },
              }))
            ) {
              restored.push(`${s.action} ${s.tier}`);
            }
          }
        }
      }
      await recordAudit({
        db: tx,
        actor: req.actor,
        action: 'guard.disarm',
        target: 'guard',
        reason: req.reason,
        details: { restore, restored, guardConfigVersion: row.configVersion, configVersion: version },
        ip: req.ip ?? null,
      });
      return { armed: false, restored };
    });
    if (done) return done;
  }
  throw new AppError('CONFLICT', 'the guard kept deciding while disarming; try again');
}
