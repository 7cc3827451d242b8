// Decision counts: per `tier|reason` since start (for /metrics), and per tier and minute for the
// AdmissionStat table, flushed every second in one statement per chunk. Kept apart from the
// decision path so a consume only bumps two map entries; a failed flush puts the counts back.
import type { TPgRaw, TSqliteRaw } from '@coolant/db';
import { chunk, statUpsertSql } from './sql';
import type { TConsumeResponse } from './types';

/** Tier label of unknown_tier decisions; tier names start with [a-z0-9], so no tier is called this. */
export const UNKNOWN_TIER_LABEL = '_unknown';

export type TAdmissionCounters = Map<string, number>;

type TMinuteStat = { tierName: string; minute: number; allowed: number; denied: number };

export class DecisionStats {
  /** Decisions since start by `tier|reason` (for /metrics). */
  readonly decisions: TAdmissionCounters = new Map();
  private minutes = new Map<string, TMinuteStat>();

  count(req: { response: TConsumeResponse; nowMs: number }): void {
    const r = req.response;
    // An unknown tier name is whatever the caller sent: one shared label keeps the map and /metrics bounded.
    const k = `${r.reason === 'unknown_tier' ? UNKNOWN_TIER_LABEL : r.tier}|${r.reason}`;
    this.decisions.set(k, (this.decisions.get(k) ?? 0) + 1);
    if (r.reason === 'unknown_tier') return;
    const minute = Math.floor(req.nowMs / 60_000);
    const sk = `${r.tier}|${minute}`;
    let s = this.minutes.get(sk);
    if (!s) {
      s = { tierName: r.tier, minute, allowed: 0, denied: 0 };
      this.minutes.set(sk, s);
    }
    if (r.allowed) s.allowed++;
    else s.denied++;
  }

  async flush(req: { raw: TSqliteRaw | TPgRaw }): Promise<void> {
    if (this.minutes.size === 0) return;
    const { raw } = req;
    const rows = [...this.minutes.values()];
    this.minutes = new Map();
    try {
      const statements = chunk(rows).map((part) => ({
        sql: statUpsertSql(raw.kind, part.length),
        params: part.flatMap((r) => [r.tierName, r.minute, r.allowed, r.denied]),
      }));
      if (raw.kind === 'sqlite') raw.batch(statements);
      else for (const st of statements) await raw.query(st.sql, st.params);
    } catch (error) {
      // Put them back so a database hiccup loses no counts.
      for (const r of rows) {
        const k = `${r.tierName}|${r.minute}`;
        const s = this.minutes.get(k);
        if (s) {
          s.allowed += r.allowed;
          s.denied += r.denied;
        } else this.minutes.set(k, r);
      }
      throw error;
    }
  }
}
