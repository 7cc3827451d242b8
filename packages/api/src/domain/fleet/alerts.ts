/** Alert rules (stored in Setting, audited when changed) and the evaluation pass that opens and resolves alerts. */
import { z } from 'zod';
import type { TDb, TDbTx } from '@coolant/db';
import type { TActor } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import { gpuPresence } from './gpu-presence';
import { nodeStatus } from './node-status';
import { readStoredHealth } from './stored-telemetry';

export const ZAlertRules = z.strictObject({
  gpuHot: z.strictObject({
    enabled: z.boolean(),
    temperatureC: z.number().min(30).max(150),
    forSeconds: z.number().int().min(0).max(3600),
  }),
  nodeOffline: z.strictObject({ enabled: z.boolean() }),
  // A default, so rules stored before the hold existed still parse (instead of falling back to all defaults).
  gpuMissing: z.strictObject({ enabled: z.boolean(), forSeconds: z.number().int().min(0).max(3600).default(30) }),
  collectorFailing: z.strictObject({ enabled: z.boolean(), consecutiveReports: z.number().int().min(1).max(100) }),
});
export type TAlertRules = z.infer<typeof ZAlertRules>;

export const DEFAULT_ALERT_RULES: TAlertRules = {
  gpuHot: { enabled: true, temperatureC: 85, forSeconds: 60 },
  nodeOffline: { enabled: true },
  gpuMissing: { enabled: true, forSeconds: 30 },
  collectorFailing: { enabled: true, consecutiveReports: 3 },
};

const RULES_KEY = 'alerts.rules';

/** The stored rules, or the defaults with the reason when the stored row does not read. */
export async function readStoredAlertRules(req: {
  db: TDb | TDbTx;
}): Promise<{ rules: TAlertRules; problem: string | null }> {
  const row = await req.db.setting.findUnique({ where: { key: RULES_KEY } });
  if (!row) return { rules: DEFAULT_ALERT_RULES, problem: null };
  let data: unknown;
  try {
    data = JSON.parse(row.value);
  } catch (error) {
    return { rules: DEFAULT_ALERT_RULES, problem: `setting ${RULES_KEY}: not JSON (${(error as Error).message})` };
  }
  const parsed = ZAlertRules.safeParse(data);
  if (parsed.success) return { rules: parsed.data, problem: null };
  const issue = parsed.error.issues[0];
  return { rules: DEFAULT_ALERT_RULES, problem: `setting ${RULES_KEY}.${issue?.path.join('.')}: ${issue?.message}` };
}

/** The rules in force: an unreadable stored row falls back to the defaults (the evaluator logs why). */
export async function readAlertRules(req: { db: TDb | TDbTx }): Promise<TAlertRules> {
  return (await readStoredAlertRules(req)).rules;
}

export type TUpdateAlertRulesRequest = {
  db: TDb;
  actor: TActor;
  rules: TAlertRules;
  reason?: string | undefined;
  ip: string | null;
};

/** The rules and their audit row (with the rules they replaced) commit in one transaction. */
export async function updateAlertRules(req: TUpdateAlertRulesRequest): Promise<TAlertRules> {
  return req.db.$transaction(async (tx) => {
    const before = await readAlertRules({ db: tx });
    const value = JSON.stringify(req.rules);
    await tx.setting.upsert({ where: { key: RULES_KEY }, create: { key: RULES_KEY, value }, update: { value } });
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'alerts.update_rules',
      reason: req.reason,
      details: { before, after: req.rules },
      ip: req.ip,
    });
    return req.rules;
  });
}

type TCondition = {
  kind: string;
  nodeId: string;
  gpuIndex: number | null;
  message: string;
  value: number | null;
  forMs: number;
};

function openKey(c: { kind: string; nodeId: string; gpuIndex: number | null }): string {
  return `${c.kind}:${c.nodeId}:${c.gpuIndex ?? '-'}`;
}

/**
 * One evaluation pass: conditions true now open (pending, then firing once
 * they held long enough) or stay open; open alerts whose condition cleared
 * are resolved. Idempotent, so any console instance may run it: the unique
 * open key makes two instances agree on one alert per condition.
 */
export type TEvaluateAlertsRequest = { db: TDb; now: Date; rules: TAlertRules; offlineAfterMs: number };

export async function evaluateAlerts(
  req: TEvaluateAlertsRequest,
): Promise<{ firing: number; opened: number; resolved: number }> {
  const { db, now, rules } = req;
  const nodes = await db.node.findMany({ where: { revokedAt: null }, include: { gpus: true } });
  const conditions: TCondition[] = [];
  /** Open keys whose condition cannot be judged this pass: kept exactly as they are. */
  const held = new Set<string>();
  for (const n of nodes) {
    const status = nodeStatus({ node: n, now, offlineAfterMs: req.offlineAfterMs });
    if (rules.nodeOffline.enabled && status === 'offline' && n.lastSeenAt) {
      conditions.push({
        kind: 'node_offline',
        nodeId: n.id,
        gpuIndex: null,
        message: `${n.hostname} has not reported since ${n.lastSeenAt.toISOString()}`,
        value: null,
        forMs: 0,
      });
    }
    if (status === 'offline') continue;
    // An unreadable row leaves presence unknown (no alert on a guess) and says why in collector_failing.
    const stored = readStoredHealth({ json: n.health });
    const health = stored.value;
    for (const g of n.gpus) {
      const presence = gpuPresence({ node: { lastSampleAt: n.lastSampleAt, gpuCount: n.gpuCount, health }, gpu: g });
      if (presence === 'unknown') {
        // No answer about this GPU in the latest report: its open alerts neither clear nor start.
        held.add(openKey({ kind: 'gpu_missing', nodeId: n.id, gpuIndex: g.gpuIndex }));
        held.add(openKey({ kind: 'gpu_hot', nodeId: n.id, gpuIndex: g.gpuIndex }));
        continue;
      }
      if (rules.gpuMissing.enabled && presence === 'missing') {
        const why =
          n.gpuCount > 0
            ? `nvidia-smi lists ${n.gpuCount} GPU${n.gpuCount === 1 ? '' : 's'} without it`
            : `nvidia-smi lists no GPU while lspci sees ${health?.inventory?.nvidiaControllers} NVIDIA controllers`;
        conditions.push({
          kind: 'gpu_missing',
          nodeId: n.id,
          gpuIndex: g.gpuIndex,
          message: `${n.hostname} GPU ${g.gpuIndex} (${g.name ?? 'unknown'}) is missing: ${why}`,
          value: null,
          forMs: rules.gpuMissing.forSeconds * 1000,
        });
      }
      if (
        rules.gpuHot.enabled &&
        presence === 'present' &&
        g.temperatureGpu !== null &&
        g.temperatureGpu >= rules.gpuHot.temperatureC
      ) {
        conditions.push({
          kind: 'gpu_hot',
          nodeId: n.id,
          gpuIndex: g.gpuIndex,
          message: `${n.hostname} GPU ${g.gpuIndex} at ${g.temperatureGpu} °C (≥ ${rules.gpuHot.temperatureC} °C)`,
          value: g.temperatureGpu,
          forMs: rules.gpuHot.forSeconds * 1000,
        });
      }
    }
    if (rules.collectorFailing.enabled && n.collectorFailures >= rules.collectorFailing.consecutiveReports) {
      const first = health?.errors[0] ?? stored.problem;
      conditions.push({
        kind: 'collector_failing',
        nodeId: n.id,
        gpuIndex: null,
        message: `${n.hostname}: collector failing for ${n.collectorFailures} reports: ${first ?? 'unknown error'}`,
        value: n.collectorFailures,
        forMs: 0,
      });
    }
  }
  const open = await db.alert.findMany({ where: { openKey: { not: null } } });
  const openByKey = new Map(open.map((a) => [a.openKey!, a]));
  const seen = new Set<string>();
  let opened = 0;
  for (const c of conditions) {
    const key = openKey(c);
    seen.add(key);
    const existing = openByKey.get(key);
    if (!existing) {
      const firing = c.forMs === 0;
      await db.alert
        .create({
          data: {
            kind: c.kind,
            nodeId: c.nodeId,
            gpuIndex: c.gpuIndex,
            state: firing ? 'firing' : 'pending',
            message: c.message,
            value: c.value,
            startedAt: now,
            firingAt: firing ? now : null,
            openKey: key,
          },
        })
        .then(() => opened++)
        .catch(() => {}); // another instance opened it first
      continue;
    }
    const firing = existing.state === 'firing' || now.getTime() - existing.startedAt.getTime() >= c.forMs;
    const fires = firing && existing.state !== 'firing';
    // Nothing to write when the reading and its message are the ones stored (most ticks of a steady
    // fleet: a write per open alert every 5 s was 127 statements/s with 1,000 simulated nodes).
    if (!fires && existing.message === c.message && existing.value === c.value) continue;
    await db.alert.update({
      where: { id: existing.id },
      data: {
        message: c.message,
        value: c.value,
        ...(fires ? { state: 'firing', firingAt: now } : {}),
      },
    });
  }
  let resolved = 0;
  for (const a of open) {
    if (seen.has(a.openKey!) || held.has(a.openKey!)) continue;
    // A pending alert that cleared never fired: drop it rather than keep noise.
    if (a.state === 'pending') await db.alert.deleteMany({ where: { id: a.id, state: 'pending' } });
    else
      resolved += (
        await db.alert.updateMany({
          where: { id: a.id, openKey: a.openKey },
          data: { state: 'resolved', resolvedAt: now, openKey: null },
        })
      ).count;
  }
  const firing = await db.alert.count({ where: { state: 'firing' } });
  return { firing, opened, resolved };
}
