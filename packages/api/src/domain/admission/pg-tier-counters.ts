/**
 * Tier-wide counters (limits of scope 'tier') in a PostgreSQL consume batch. Every consume of such
 * a tier meets the same row (the tier's counter of the window, subject ""): the hottest row there
 * is, and one that a batch holds many attempts for, so it cannot be a conditional upsert per
 * attempt like a subject's counter (one statement updates a row once, and decides each attempt
 * against the row as it was before the statement). Instead a batch with tier slots runs in a
 * transaction that first locks its tier rows (upserted in key order, before any other row of the
 * batch), lets the subject limits decide as usual, then admits in arrival order each attempt whose
 * subject limits all took it while every tier row it needs has room; the sums are added by the
 * settling statement (an attempt the tier refused has its subject increments taken back there).
 *
 * Exact across instances: the tier rows stay locked until the commit, and what is read is their
 * latest committed value (ON CONFLICT DO UPDATE works on the latest row version). Deadlock-free:
 * every transaction that touches tier rows locks all of them first, sorted, then requestIds, then
 * subject rows, sorted (refunds too), so no one waits for a tier row while holding a row that the
 * holder of that tier row waits for. A batch of a tier without tier-scope limits does none of this.
 */
import type { TPgQuery } from '@coolant/db';
import { TIER_SUBJECT } from './tier-slots';
import type { TConsumeAttempt } from './types';

export type TTierRow = { key: string; tierId: string; window: string; startMin: number };

/** A counter change for the settling statement: `used - minus`, so a negative one adds. */
export type TCounterChange = { tierId: string; window: string; subject: string; startMin: number; minus: number };

// `used = used`: a no-op update, for its row lock and the latest value in RETURNING.
const LOCK_SQL = `INSERT INTO "QuotaCounter" ("tierId","window","subject","windowStartMin","used")
SELECT tier, win, '', start, 0 FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS t(tier, win, start, ord) ORDER BY ord
ON CONFLICT ("tierId","window","subject","windowStartMin") DO UPDATE SET "used" = "QuotaCounter"."used"
RETURNING "tierId","window","windowStartMin","used"`;

export function tierRowKey(tierId: string, window: string, startMin: number): string {
  return `${tierId}\u0000${window}\u0000${startMin}`;
}

const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

/** The tier rows a batch needs, in lock order; null when none of its attempts has a tier-scope limit. */
export function tierRowsOf(attempts: TConsumeAttempt[]): TTierRow[] | null {
  let rows: Map<string, TTierRow> | null = null;
  for (const a of attempts)
    for (const s of a.slots) {
      if (s.scope !== 'tier') continue;
      rows ??= new Map();
      const key = tierRowKey(a.tierId, s.window, s.startMin);
      if (!rows.has(key)) rows.set(key, { key, tierId: a.tierId, window: s.window, startMin: s.startMin });
    }
  return rows && [...rows.values()].sort((x, y) => cmp(x.key, y.key));
}

/** Locks the rows (creating the missing ones at 0) and reads what each holds. */
export async function lockTierRows(query: TPgQuery, rows: TTierRow[]): Promise<Map<string, number>> {
  const out = await query(
    LOCK_SQL,
    [rows.map((r) => r.tierId), rows.map((r) => r.window), rows.map((r) => r.startMin)],
    'coolant_admission_tier_lock',
  );
  const used = new Map<string, number>();
  for (const o of out)
    used.set(tierRowKey(String(o.tierId), String(o.window), Number(o.windowStartMin)), Number(o.used));
  for (const r of rows) if (!used.has(r.key)) throw new Error(`tier counter ${r.key} neither locked nor created`);
  return used;
}

/**
 * The tier's part of each attempt's decision, in arrival order. `subjectOk[i]`: every subject limit
 * of attempt i took it (null: not decided here, its requestId was answered elsewhere). Fills the
 * tier slots' values into `used[i]` (after the increment when admitted, else the current value)
 * and returns which attempts are admitted and the change to each tier row.
 */
export function admitOnTierRows(req: {
  attempts: TConsumeAttempt[];
  rows: TTierRow[];
  subjectOk: (boolean | null)[];
  locked: Map<string, number>;
  used: (number | null)[][];
}): { ok: boolean[]; changes: TCounterChange[] } {
  const { attempts, rows, subjectOk, locked, used } = req;
  const start = new Map(locked);
  const ok = attempts.map((a, i) => {
    if (subjectOk[i] === null) return false;
    const keys = a.slots.map((s) => (s.scope === 'tier' ? tierRowKey(a.tierId, s.window, s.startMin) : null));
    const fits =
      subjectOk[i] === true && a.slots.every((s, k) => keys[k] === null || locked.get(keys[k]!)! + a.cost <= s.limit);
    keys.forEach((key, k) => {
      if (key === null) return;
      if (fits) locked.set(key, locked.get(key)! + a.cost);
      used[i]![k] = locked.get(key)!;
    });
    return fits;
  });
  const changes: TCounterChange[] = [];
  for (const r of rows) {
    const added = locked.get(r.key)! - start.get(r.key)!;
    if (added > 0)
      changes.push({ tierId: r.tierId, window: r.window, subject: TIER_SUBJECT, startMin: r.startMin, minus: -added });
  }
  return { ok, changes };
}
