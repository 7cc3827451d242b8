/**
 * Refusals per tier, minute (since the epoch) and reason, for the Capacity page's chart
 * (AdmissionRefusalStat). Counted in a map on the decision path and written once a second in one
 * statement per chunk, as decision-stats.ts does for allowed/denied: a refusal costs a map bump,
 * never a write. A failed flush puts the counts back.
 */
import type { TPgRaw, TSqliteRaw } from '@coolant/db';
import { chunk, placeholders } from '../sql';
import type { TConsumeResponse } from '../types';

type TRefusalRow = { tierName: string; minute: number; reason: string; count: number };

function upsertSql(kind: 'sqlite' | 'postgresql', rows: number): string {
  return `INSERT INTO "AdmissionRefusalStat" ("tierName","minute","reason","count") VALUES ${placeholders(kind, rows, 4)}
ON CONFLICT ("tierName","minute","reason") DO UPDATE SET "count" = "AdmissionRefusalStat"."count" + excluded."count"`;
}

export class RefusalStats {
  private rows = new Map<string, TRefusalRow>();

  /** Counts a refused answer of a known tier (an unknown tier's name is whatever the caller sent). */
  count(req: { response: TConsumeResponse; nowMs: number }): void {
    const r = req.response;
    if (r.allowed || r.reason === 'unknown_tier') return;
    const minute = Math.floor(req.nowMs / 60_000);
    const k = `${r.tier}|${minute}|${r.reason}`;
    const row = this.rows.get(k);
    if (row) row.count++;
    else this.rows.set(k, { tierName: r.tier, minute, reason: r.reason, count: 1 });
  }

  async flush(req: { raw: TSqliteRaw | TPgRaw }): Promise<void> {
    if (this.rows.size === 0) return;
    const { raw } = req;
    const rows = [...this.rows.values()];
    this.rows = new Map();
    try {
      const statements = chunk(rows).map((part) => ({
        sql: upsertSql(raw.kind, part.length),
        params: part.flatMap((r) => [r.tierName, r.minute, r.reason, r.count]),
      }));
      if (raw.kind === 'sqlite') raw.batch(statements);
      else for (const st of statements) await raw.query(st.sql, st.params);
    } catch (error) {
      for (const r of rows) {
        const k = `${r.tierName}|${r.minute}|${r.reason}`;
        const s = this.rows.get(k);
        if (s) s.count += r.count;
        else this.rows.set(k, r);
      }
      throw error;
    }
  }
}
