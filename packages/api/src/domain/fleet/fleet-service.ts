/** The fleet's per-instance loop: ingest counters, alert evaluation every few seconds, telemetry retention. */
import type { TDb, TPgRaw, TSqliteRaw } from '@coolant/db';
import type { TTelemetrySample } from '@coolant/telemetry/schema';
import { evaluateAlerts, readStoredAlertRules } from './alerts';
import { IngestBatcher } from './ingest-batcher';
import type { TIngestResult } from './ingest-report';

export type TRetention = { rawHours: number; rollupDays: number };
export const DEFAULT_RETENTION: TRetention = { rawHours: 2, rollupDays: 14 };

const ALERT_EVERY_MS = 5_000;
const PRUNE_EVERY_MS = 60_000;

/** Telemetry ingest, alert evaluation and retention for this console instance. */
export class FleetService {
  readonly counters = { reports: 0, samples: 0, gpuSamples: 0, duplicates: 0 };
  private timers: NodeJS.Timeout[] = [];
  private evaluating = false;
  /** Stores the reports of one I/O phase in one transaction (see ingest-batcher.ts). */
  readonly batcher: IngestBatcher;

  constructor(
    private readonly opts: {
      db: TDb;
      raw: TSqliteRaw | TPgRaw;
      now: () => Date;
      /** A node with no report for this long is offline (its alerts: node_offline). */
      offlineAfterMs: number;
      retention?: TRetention;
      log?: (m: string) => void;
    },
  ) {
    this.batcher = new IngestBatcher(opts.raw);
  }

  start(background: boolean): void {
    if (!background) return;
    const log = this.opts.log ?? (() => {});
    this.timers.push(
      setInterval(
        () => void this.evaluate().catch((e: Error) => log(`alert evaluation failed: ${e.message}`)),
        ALERT_EVERY_MS,
      ),
    );
    this.timers.push(
      setInterval(
        () => void this.prune().catch((e: Error) => log(`telemetry pruning failed: ${e.message}`)),
        PRUNE_EVERY_MS,
      ),
    );
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  async ingest(req: {
    nodeId: string;
    intervalSeconds: number;
    agentVersion: string | null;
    samples: TTelemetrySample[];
  }): Promise<TIngestResult> {
    this.counters.reports++;
    const result = await this.batcher.ingest({ now: this.opts.now(), ...req });
    this.counters.samples += result.accepted;
    this.counters.gpuSamples += result.gpuSamples;
    this.counters.duplicates += result.duplicates;
    return result;
  }

  async evaluate() {
    if (this.evaluating) return null;
    this.evaluating = true;
    try {
      const { db, offlineAfterMs } = this.opts;
      const { rules, problem } = await readStoredAlertRules({ db });
      // Said on every pass until fixed: the defaults are in force, not what the admin stored.
      if (problem) this.opts.log?.(`alert rules unreadable, evaluating with the defaults: ${problem}`);
      return await evaluateAlerts({ db, now: this.opts.now(), rules, offlineAfterMs });
    } finally {
      this.evaluating = false;
    }
  }

  /** Deletes raw samples past their retention and rollups past theirs. */
  async prune(): Promise<{ raw: number; rollups: number; alerts: number }> {
    const { db } = this.opts;
    const r = this.opts.retention ?? DEFAULT_RETENTION;
    const now = this.opts.now().getTime();
    const raw = await db.gpuSample.deleteMany({ where: { atMs: { lt: BigInt(now - r.rawHours * 3_600_000) } } });
    const rollups = await db.gpuMinute.deleteMany({
      where: { minute: { lt: Math.floor((now - r.rollupDays * 86_400_000) / 60_000) } },
    });
    const alerts = await db.alert.deleteMany({
      where: { state: 'resolved', resolvedAt: { lt: new Date(now - r.rollupDays * 86_400_000) } },
    });
    return { raw: raw.count, rollups: rollups.count, alerts: alerts.count };
  }
}
