/** What the Guard page and the banner show: state, rules with their ladders, what is shed, the leader. */
import type { TDb } from '@coolant/db';
import { emptyRuleRuntime, ruleStateLabel, type TRuleRuntime } from './decide';
import { describeStep, redactConfig, SIGNAL_LABELS } from './guard-config';
import { loadGuard } from './guard-state';
import { computeSignals, signalFor, type TFleetReading } from './signals';

export type TGuardState = 'disarmed' | 'armed' | 'tripped' | 'cooling' | 'holding: no data';

function overallState(armed: boolean, rules: TRuleRuntime[]): TGuardState {
  if (!armed) return 'disarmed';
  const labels = rules.map(ruleStateLabel);
  for (const s of ['holding: no data', 'tripped', 'cooling'] as const) if (labels.includes(s)) return s;
  return 'armed';
}

export async function getGuard(req: {
  db: TDb;
  now: Date;
  instanceId: string;
  offlineAfterMs: number;
  brief?: boolean;
}) {
  const { db, now } = req;
  const row = await loadGuard(db);
  // Brief (the banner on every page, every few seconds): what is shed and the state, without reading the telemetry window.
  const reading: TFleetReading | null = req.brief
    ? null
    : await computeSignals({ db, now, config: row.config, offlineAfterMs: req.offlineAfterMs });
  const lease = await db.guardLease.findUnique({ where: { id: 1 } });
  const rules = row.config.rules.map((rule) => {
    const rt = row.runtime.rules[rule.id] ?? emptyRuleRuntime();
    return {
      id: rule.id,
      enabled: rule.enabled,
      dryRun: rule.dryRun,
      signal: rule.signal,
      signalLabel: SIGNAL_LABELS[rule.signal],
      temperatureC: rule.temperatureC,
      trip: rule.trip,
      clear: rule.clear,
      tripWindowSeconds: rule.tripWindowSeconds,
      clearWindowSeconds: rule.clearWindowSeconds,
      value: reading ? signalFor(reading, rule) : (row.runtime.rules[rule.id]?.lastValue ?? null),
      state: row.armed && rule.enabled ? ruleStateLabel(rt) : ('disarmed' as const),
      phase: rt.phase,
      position: rt.steps.length,
      aboveSince: rt.aboveSince,
      belowSince: rt.belowSince,
      trippedAt: rt.trippedAt,
      holding: rt.holding,
      ladder: rule.ladder.map((step, i) => ({
        ...step,
        index: i,
        description: describeStep(step),
        taken: rt.steps.find((s) => s.step === i) ?? null,
      })),
      series: req.brief ? [] : rt.series.map(([at, value]) => ({ at: new Date(at).toISOString(), value })),
    };
  });
  const shed = Object.entries(row.runtime.rules).flatMap(([id, rt]) => {
    const rule = row.config.rules.find((r) => r.id === id);
    return rt.steps
      .filter((s) => s.status === 'applied')
      .map((s) => ({
        rule: id,
        step: s.step,
        tier: s.tier,
        action: s.action,
        description: rule?.ladder[s.step] ? describeStep(rule.ladder[s.step]!) : `${s.action} ${s.tier}`,
        since: s.at,
      }));
  });
  const holding = rules.filter((r) => r.state === 'holding: no data');
  return {
    armed: row.armed,
    state: overallState(
      row.armed,
      row.config.rules.filter((r) => r.enabled).map((r) => row.runtime.rules[r.id] ?? emptyRuleRuntime()),
    ),
    configVersion: row.configVersion,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: row.updatedBy,
    config: redactConfig(row.config),
    signals: reading?.signals ?? null,
    rules,
    shed,
    alert: holding.length
      ? `guard holding: ${holding.map((r) => `${r.id} (${r.holding?.reason ?? 'no data'}, since ${r.holding?.since ?? '?'})`).join(', ')}`
      : null,
    lastEvalAt: row.runtime.lastEvalAt,
    leader: lease
      ? {
          instanceId: lease.holder,
          expiresAt: lease.expiresAt.toISOString(),
          live: lease.expiresAt > now,
          thisInstance: lease.holder === req.instanceId,
        }
      : null,
  };
}
