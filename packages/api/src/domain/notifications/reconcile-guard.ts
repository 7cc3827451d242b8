/**
 * Guard steps as outbox transitions: a step the guard holds (status applied) fires CoolantGuardStep
 * until it is undone, by the guard, a disarm or an operator. Its resolution carries the time it was
 * undone (the guard's unstep or override event, or the disarm's audit row), not the time the
 * notifier noticed, so a console that was down meanwhile still reports when the step ended.
 */
import type { TDb } from '@coolant/db';
import { loadGuard } from '../guard/guard-state';
import {
  appendFiringMany,
  appendResolvedMany,
  GUARD_STEP_ALERTNAME,
  type TFiringEvent,
  type TResolution,
} from './notification-event';

function guardKey(rule: string, step: number, at: Date): string {
  return `guard:${rule}:${step}:${at.getTime()}`;
}

/** rule, step and when it was taken, from "guard:<rule>:<step>:<ms>" (the rule id may contain ':'). */
function parseGuardKey(key: string): { rule: string; step: number; at: Date } | null {
  const parts = key.split(':');
  if (parts.length < 4 || parts[0] !== 'guard') return null;
  const ms = Number(parts[parts.length - 1]);
  const step = Number(parts[parts.length - 2]);
  if (!Number.isFinite(ms) || !Number.isInteger(step)) return null;
  return { rule: parts.slice(1, -2).join(':'), step, at: new Date(ms) };
}

/** When the step was undone, if the guard's events or the audit log say; null when neither does. */
export async function guardStepUndoneAt(req: { db: TDb; alertKey: string }): Promise<Date | null> {
  const k = parseGuardKey(req.alertKey);
  if (!k) return null;
  const event = await req.db.guardEvent.findFirst({
    where: { rule: k.rule, step: k.step, kind: { in: ['unstep', 'override'] }, dryRun: false, at: { gte: k.at } },
    orderBy: { at: 'asc' },
    select: { at: true },
  });
  if (event) return event.at;
  // A disarm that restored the tiers ends every step at once (one without restore leaves them in force).
  const disarm = await req.db.auditEvent.findFirst({
    where: { action: 'guard.disarm', at: { gte: k.at }, details: { contains: '"restore":true' } },
    orderBy: { at: 'asc' },
    select: { at: true },
  });
  return disarm?.at ?? null;
}

export async function reconcileGuard(req: { db: TDb; now: Date }): Promise<number> {
  const { db, now } = req;
  const { runtime } = await loadGuard(db);
  const held = new Map<string, TFiringEvent>();
  for (const [rule, rt] of Object.entries(runtime.rules)) {
    for (const s of rt.steps) {
      if (s.status !== 'applied') continue;
      const at = new Date(s.at);
      const alertKey = guardKey(rule, s.step, at);
      const what = `${s.action} ${s.tier}`;
      held.set(alertKey, {
        alertKey,
        alertname: GUARD_STEP_ALERTNAME,
        severity: 'warning',
        labels: { tier: s.tier, rule, action: s.action, step: String(s.step + 1) },
        summary: `guard rule ${rule} holds step ${s.step + 1}: ${what}`,
        description: `The launch-day guard took step ${s.step + 1} of rule ${rule} (${what}) at ${at.toISOString()}; it resolves when the guard steps back (or is disarmed, or an operator undoes it).`,
        nodeId: null,
        startsAt: at,
      });
    }
  }
  const open = await db.notificationEvent.findMany({
    where: { open: true, alertKey: { startsWith: 'guard:' } },
    select: { alertKey: true },
  });
  const openKeys = new Set(open.map((e) => e.alertKey));
  const ended: TResolution[] = [];
  for (const key of openKeys) {
    if (!held.has(key)) ended.push({ alertKey: key, endsAt: (await guardStepUndoneAt({ db, alertKey: key })) ?? now });
  }
  const fresh = [...held.values()].filter((e) => !openKeys.has(e.alertKey));
  return (await appendResolvedMany({ db, items: ended, now })) + (await appendFiringMany({ db, events: fresh, now }));
}
