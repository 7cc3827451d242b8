/**
 * What the guard did or would have done: GuardEvent rows (with their audit rows for phase changes
 * and alerts) written in the transaction of the change, and the webhooks sent after its commit.
 */
import type { TDb, TDbTx } from '@coolant/db';
import { GUARD_ACTOR } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';
import type { TDecision, TRuleRuntime } from './decide';
import type { TGuardRule } from './guard-config';
import { loadGuard } from './guard-state';
import type { TFleetSignals } from './signals';
import { sendWebhook, type TWebhookPayload } from './webhook';

export type TPhaseEventKind = TDecision['events'][number];
export type TGuardEventKind =
  TPhaseEventKind | 'step' | 'unstep' | 'unstep_noop' | 'skip' | 'cap' | 'override' | 'drill';

export type TGuardEvent = {
  kind: TGuardEventKind;
  message: string;
  rule?: string | null;
  step?: number | null;
  tier?: string | null;
  action?: string | null;
  dryRun?: boolean;
  signal?: unknown;
};

/** A written event: its row id travels in the webhook so a receiver can drop a retried duplicate. */
type TWrittenEvent = TGuardEvent & { id: string };

const AUDITED = new Set<TGuardEventKind>(['trip', 'retrip', 'cooling', 'clear', 'hold', 'cap', 'skip', 'override']);
const ANNOUNCED = new Set<TGuardEventKind>([
  'trip',
  'retrip',
  'step',
  'unstep',
  'clear',
  'hold',
  'cap',
  'skip',
  'override',
  'cooling',
]);

export function signalPayload(req: { signals: TFleetSignals; rule: TGuardRule; value: number | null }) {
  const { signals: s, rule, value } = req;
  return {
    rule: rule.id,
    signal: rule.signal,
    value,
    trip: rule.trip,
    clear: rule.clear,
    ...(rule.signal === 'hot_share' ? { temperatureC: rule.temperatureC } : {}),
    data: s.data,
    gpus: s.gpus,
    nodes: s.nodes,
    ...(s.data ? { fleet: s.values } : { reason: s.reason }),
  };
}

export function phaseEvent(req: {
  kind: TPhaseEventKind;
  rule: TGuardRule;
  rt: TRuleRuntime;
  signals: TFleetSignals;
  value: number | null;
}): TGuardEvent {
  const { kind, rule, rt, signals, value } = req;
  const v = value === null ? 'no data' : String(value);
  const messages: Record<TPhaseEventKind, string> = {
    trip: `rule ${rule.id} tripped: ${rule.signal} = ${v} ≥ ${rule.trip} for ${rule.tripWindowSeconds} s`,
    retrip: `rule ${rule.id} tripped again while cooling: ${rule.signal} = ${v} ≥ ${rule.trip}`,
    cooling: `rule ${rule.id} cleared: ${rule.signal} = ${v} < ${rule.clear} for ${rule.clearWindowSeconds} s; climbing down`,
    clear: `rule ${rule.id} clear: every step undone`,
    hold: `rule ${rule.id} holding: ${rt.holding?.reason ?? 'no data'} (counts neither as hot nor as cool)`,
    data_back: `rule ${rule.id}: telemetry back (${rule.signal} = ${v})`,
  };
  return {
    kind,
    rule: rule.id,
    dryRun: rule.dryRun,
    signal: signalPayload({ signals, rule, value }),
    message: messages[kind],
  };
}

/** Writes the events (and the audit rows of phase changes and alerts; tier changes audit themselves where they are made). */
export async function writeGuardEvents(req: {
  tx: TDbTx;
  events: TGuardEvent[];
  guardVersion: number;
  at: Date;
  instanceId: string;
}): Promise<TWrittenEvent[]> {
  const { tx } = req;
  const written: TWrittenEvent[] = [];
  for (const e of req.events) {
    const created = await tx.guardEvent.create({
      data: {
        at: req.at,
        kind: e.kind,
        rule: e.rule ?? null,
        step: e.step ?? null,
        tier: e.tier ?? null,
        action: e.action ?? null,
        dryRun: e.dryRun ?? false,
        configVersion: req.guardVersion,
        signal: e.signal === undefined ? null : JSON.stringify(e.signal),
        message: e.message,
        instanceId: req.instanceId,
      },
    });
    written.push({ ...e, id: created.id });
    const dryStep = e.dryRun === true && e.kind === 'step';
    if (AUDITED.has(e.kind) || dryStep) {
      await recordAudit({
        db: tx,
        actor: GUARD_ACTOR,
        action: `guard.${dryStep ? 'dry_run_step' : e.kind}`,
        target: e.tier ?? e.rule ?? null,
        reason: e.message,
        details: { rule: e.rule, step: e.step, signal: e.signal, guardConfigVersion: req.guardVersion },
        at: req.at,
      });
    }
  }
  return written;
}

/** Sends the webhooks of committed events in the background; a dead receiver never stops the guard. */
export class GuardNotifier {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly opts: { db: TDb; now: () => Date; log: (m: string) => void; baseDelayMs?: number | undefined },
  ) {}

  notify(req: { events: TWrittenEvent[]; guardVersion: number }): void {
    const { events, guardVersion } = req;
    const announced = events.filter((e) => ANNOUNCED.has(e.kind));
    if (announced.length === 0) return;
    this.track(
      (async () => {
        const { config } = await loadGuard(this.opts.db);
        if (!config.webhook) return;
        for (const e of announced) {
          const payload: TWebhookPayload = {
            id: e.id,
            text: `:rotating_light: Coolant guard — ${e.dryRun ? '[dry run] ' : ''}${e.message}`,
            event: e.kind,
            rule: e.rule ?? null,
            step: e.step ?? null,
            tier: e.tier ?? null,
            dryRun: e.dryRun ?? false,
            signal: e.signal ?? null,
            guardConfigVersion: guardVersion,
            at: this.opts.now().toISOString(),
          };
          this.track(
            sendWebhook({
              hook: config.webhook,
              payload,
              log: this.opts.log,
              baseDelayMs: this.opts.baseDelayMs,
            }),
          );
        }
      })().catch((error: Error) => this.opts.log(`guard webhook: ${error.message}`)),
    );
  }

  /** Waits for the webhooks sent so far (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
