/**
 * The decider's half of the drill (the requester's half is run-drill.ts): at its next evaluation
 * the instance holding the lease claims each requested drill, feeds a synthetic hot signal to a
 * dry-run copy of a rule, and commits the decision: a live pause of the drill's tier, or a config
 * version with no change, so the chain to every instance is measured without touching traffic.
 */
import { describeStep, DEFAULT_GUARD_CONFIG, type TGuardRule, type TGuardStep } from './guard-config';
import type { TDecider } from './guard-commit';
import type { TGuardRow } from './guard-state';
import { decideRule, emptyRuleRuntime } from './decide';
import { applyStep } from './ladder-step';
import type { TFleetSignals } from './signals';

type TDrillRow = { id: string; live: boolean; tier: string | null };

export async function decideDrills(req: { decider: TDecider; row: TGuardRow; signals: TFleetSignals }): Promise<void> {
  const d = req.decider;
  const drills = await d.db.guardDrill.findMany({
    where: { state: 'requested' },
    orderBy: { requestedAt: 'asc' },
    take: 5,
  });
  for (const drill of drills) {
    const claimed = await d.db.guardDrill.updateMany({
      where: { id: drill.id, state: 'requested' },
      data: { state: 'deciding', decidedBy: d.instanceId },
    });
    if (claimed.count !== 1) continue;
    const outcome = await decideDrill(d, req.row, req.signals, drill).catch((error: Error) => ({
      error: error.message,
    }));
    await d.db.guardDrill.update({
      where: { id: drill.id },
      data: 'error' in outcome ? { state: 'failed', error: outcome.error } : { state: 'decided', ...outcome },
    });
  }
}

async function decideDrill(d: TDecider, row: TGuardRow, signals: TFleetSignals, drill: TDrillRow) {
  const rule = row.config.rules.find((r) => r.enabled) ?? row.config.rules[0] ?? DEFAULT_GUARD_CONFIG.rules[0]!;
  // A dry-run copy of the rule with no trip window, fed a synthetic value above its trip threshold.
  const copy: TGuardRule = { ...rule, dryRun: true, tripWindowSeconds: 0 };
  const forced = rule.trip + Math.max(1, Math.abs(rule.trip) * 0.1);
  if (decideRule({ rule: copy, prev: emptyRuleRuntime(), value: forced, now: d.now() }).move !== 'up')
    return { error: 'the synthetic signal did not trip the rule' };
  const decidedAt = d.now();
  if (drill.live && !drill.tier) return { error: 'a live drill needs a tier' };
  const step: TGuardStep = drill.live && drill.tier ? { tier: drill.tier, action: 'pause' } : rule.ladder[0]!;
  const signal = {
    synthetic: true,
    rule: rule.id,
    signal: rule.signal,
    value: forced,
    trip: rule.trip,
    fleet: signals,
  };
  let committedAt: Date | null = null;
  const result = await d.config.mutate(
    async (tx, version) => {
      if (drill.live) {
        const applied = await applyStep({
          tx,
          version,
          now: d.now(),
          step,
          guard: { rule: `drill:${drill.id}`, step: 0, signal, guardConfigVersion: row.configVersion },
        });
        // Nothing was written when the step was refused: returning commits only the version bump.
        if (!applied.applied) return { error: `drill: ${applied.note}` };
      }
      await tx.guardEvent.create({
        data: {
          at: d.now(),
          kind: 'drill',
          rule: rule.id,
          step: 0,
          tier: step.tier,
          action: step.action,
          dryRun: !drill.live,
          configVersion: row.configVersion,
          signal: JSON.stringify(signal),
          message: `drill ${drill.id}: ${drill.live ? '' : '[dry run] '}${describeStep(step)} on a synthetic ${rule.signal} = ${forced}`,
          instanceId: d.instanceId,
        },
      });
      return { version };
    },
    // The drill times the commit itself, before this instance's own reload.
    { ...(drill.live ? { pausing: step.tier } : {}), onCommitted: () => (committedAt = d.now()) },
  );
  if ('error' in result) return result;
  return { decidedAt, committedAt, configVersion: result.version, tier: step.tier };
}
