// decideRule is pure: these drive it with values and times alone, no database.
import { describe, expect, it } from 'vitest';
import { decideRule, emptyRuleRuntime, ruleStateLabel, type TRuleRuntime, type TStepRecord } from './decide';
import type { TGuardRule } from './guard-config';

const rule: TGuardRule = {
  id: 'hot',
  enabled: true,
  dryRun: false,
  signal: 'hot_share',
  temperatureC: 85,
  trip: 0.5,
  clear: 0.2,
  tripWindowSeconds: 60,
  clearWindowSeconds: 120,
  ladder: [
    { tier: 'free', action: 'limit', window: 'day', limit: 3, hours: 24 },
    { tier: 'free', action: 'pause' },
  ],
};
const T0 = Date.parse('2026-12-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const step = (i: number): TStepRecord => ({
  step: i,
  tier: 'free',
  action: i === 0 ? 'limit' : 'pause',
  status: 'applied',
  at: at(0).toISOString(),
  configVersion: 1,
});

/** Feeds `value(t)` every 10 s from `from` to `to` seconds; what each evaluation decided, and the last runtime. */
function drive(rt: TRuleRuntime, from: number, to: number, value: (t: number) => number | null) {
  const out: { t: number; move: string | null; events: string[] }[] = [];
  for (let t = from; t <= to; t += 10) {
    const d = decideRule({ rule, prev: rt, value: value(t), now: at(t) });
    // Moves the caller would have applied: the ladder position follows them.
    rt =
      d.move === 'up'
        ? { ...d.rt, steps: [...d.rt.steps, step(d.rt.steps.length)], lastMoveAt: at(t).toISOString() }
        : d.move === 'down'
          ? { ...d.rt, steps: d.rt.steps.slice(0, -1), lastMoveAt: at(t).toISOString() }
          : d.rt;
    if (d.move || d.events.length) out.push({ t, move: d.move, events: d.events });
  }
  return { out, rt };
}

describe('decideRule', () => {
  it('trips only once the value stayed at or above trip for the whole trip window, and climbs then', () => {
    const { out, rt } = drive(emptyRuleRuntime(), 0, 60, () => 0.6);
    expect(out).toEqual([{ t: 60, move: 'up', events: ['trip'] }]);
    expect(rt.phase).toBe('tripped');
    expect(rt.trippedAt).toBe(at(60).toISOString());
  });

  it('a dip below trip restarts the trip window', () => {
    const { out } = drive(emptyRuleRuntime(), 0, 110, (t) => (t === 40 ? 0.4 : 0.6));
    expect(out).toEqual([{ t: 110, move: 'up', events: ['trip'] }]);
  });

  it('while hot it climbs one step per trip window and stops at the top of the ladder', () => {
    const { out } = drive(emptyRuleRuntime(), 0, 300, () => 0.9);
    expect(out.map((o) => [o.t, o.move])).toEqual([
      [60, 'up'],
      [120, 'up'],
    ]);
  });

  it('noise between clear and trip neither climbs down nor up', () => {
    const hot = drive(emptyRuleRuntime(), 0, 60, () => 0.9).rt;
    const { out } = drive(hot, 70, 600, () => 0.35);
    expect(out).toEqual([]);
  });

  it('cools after the clear window below clear, climbs down one step per trip window, then clears', () => {
    const hot = drive(emptyRuleRuntime(), 0, 120, () => 0.9).rt;
    expect(hot.steps).toHaveLength(2);
    const { out, rt } = drive(hot, 130, 400, () => 0.1);
    expect(out).toEqual([
      { t: 250, move: 'down', events: ['cooling'] },
      { t: 310, move: 'down', events: [] },
      { t: 320, move: null, events: ['clear'] },
    ]);
    expect(rt.phase).toBe('armed');
    expect(rt.trippedAt).toBeNull();
  });

  it('hot again for a trip window while cooling trips again and climbs (a move is due)', () => {
    const hot = drive(emptyRuleRuntime(), 0, 120, () => 0.9).rt;
    const cooling = drive(hot, 130, 250, () => 0.1).rt;
    expect(cooling.phase).toBe('cooling');
    const { out, rt } = drive(cooling, 260, 320, () => 0.9);
    expect(out).toEqual([{ t: 320, move: 'up', events: ['retrip'] }]);
    expect(rt.phase).toBe('tripped');
  });

  it('a missing value holds: one hold event, both streaks broken, nothing moves; data back is noted', () => {
    const warm = drive(emptyRuleRuntime(), 0, 50, () => 0.9).rt;
    const held = decideRule({ rule, prev: warm, value: null, now: at(60), noDataReason: 'ingest stalled' });
    expect(held).toMatchObject({ move: null, events: ['hold'] });
    expect(held.rt).toMatchObject({
      holding: { since: at(60).toISOString(), reason: 'ingest stalled' },
      aboveSince: null,
      belowSince: null,
    });
    expect(ruleStateLabel(held.rt)).toBe('holding: no data');
    expect(decideRule({ rule, prev: held.rt, value: null, now: at(70) }).events).toEqual([]);
    const back = decideRule({ rule, prev: held.rt, value: 0.9, now: at(80) });
    expect(back).toMatchObject({ move: null, events: ['data_back'] });
    expect(back.rt.aboveSince).toBe(at(80).toISOString());
  });

  it('never changes the runtime it was given, and keeps the last 240 points of the series', () => {
    const prev = {
      ...emptyRuleRuntime(),
      series: Array.from({ length: 240 }, (_, i) => [i, 0] as [number, number | null]),
    };
    const frozen = JSON.stringify(prev);
    const d = decideRule({ rule, prev, value: 0.9, now: at(0) });
    expect(JSON.stringify(prev)).toBe(frozen);
    expect(d.rt.series).toHaveLength(240);
    expect(d.rt.series.at(-1)).toEqual([at(0).getTime(), 0.9]);
  });

  it('at the thresholds: a value equal to trip is hot, a value equal to clear is not cool', () => {
    const { out, rt } = drive(emptyRuleRuntime(), 0, 60, () => 0.5);
    expect(out).toEqual([{ t: 60, move: 'up', events: ['trip'] }]);
    expect(drive(rt, 70, 600, () => 0.2).out).toEqual([]);
  });

  it('a missing value inside the trip window restarts it once data is back', () => {
    const { out } = drive(emptyRuleRuntime(), 0, 100, (t) => (t === 30 ? null : 0.9));
    expect(out).toEqual([
      { t: 30, move: null, events: ['hold'] },
      { t: 40, move: null, events: ['data_back'] },
      { t: 100, move: 'up', events: ['trip'] },
    ]);
  });

  it('a rule with an empty ladder trips and clears without ever asking for a move', () => {
    const bare: TGuardRule = { ...rule, ladder: [] };
    let rt = emptyRuleRuntime();
    const seen: { t: number; move: string | null; events: string[] }[] = [];
    for (let t = 0; t <= 400; t += 10) {
      const d = decideRule({ rule: bare, prev: rt, value: t <= 60 ? 0.9 : 0.1, now: at(t) });
      rt = d.rt;
      if (d.move || d.events.length) seen.push({ t, move: d.move, events: d.events });
    }
    expect(seen).toEqual([
      { t: 60, move: null, events: ['trip'] },
      { t: 190, move: null, events: ['cooling', 'clear'] },
    ]);
    expect(rt.phase).toBe('armed');
  });

  it('the console label: holding wins over the phase', () => {
    const tripped = drive(emptyRuleRuntime(), 0, 60, () => 0.9).rt;
    expect(ruleStateLabel(tripped)).toBe('tripped');
    const held = decideRule({ rule, prev: tripped, value: null, now: at(70) }).rt;
    expect(ruleStateLabel(held)).toBe('holding: no data');
    expect(held.phase).toBe('tripped');
  });
});
