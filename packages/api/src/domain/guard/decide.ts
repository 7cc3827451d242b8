/** The guard's decision for one rule at one evaluation, as a pure function of the rule, its runtime, the value and the time (unit tests beside it). */
import type { TGuardRule } from './guard-config';

export type TStepRecord = {
  step: number;
  tier: string;
  action: 'pause' | 'limit' | 'reserve';
  /** applied: in force, the guard's own; dry: dry run, nothing changed; skipped: an operator changed the tier recently; overridden: an operator undid it. */
  status: 'applied' | 'dry' | 'skipped' | 'overridden';
  at: string;
  tempLimitId?: string | null;
  /** A reserve step: the tier's reservation before (null: it had no share row) and the one the guard set, so undo restores it exactly and an operator's change is seen. */
  reservation?: { before: number | null; set: number } | null;
  configVersion: number;
};

export type TRulePhase = 'armed' | 'tripped' | 'cooling';

export type TRuleRuntime = {
  phase: TRulePhase;
  /** Continuously at or above trip since (ISO), null when not. */
  aboveSince: string | null;
  /** Continuously below clear since (ISO), null when not. */
  belowSince: string | null;
  trippedAt: string | null;
  lastMoveAt: string | null;
  /** The ladder position is steps.length; the last one is undone first. */
  steps: TStepRecord[];
  holding: { since: string; reason: string } | null;
  lastValue: number | null;
  /** [ms, value] every evaluation, the last SERIES_POINTS of them. */
  series: [number, number | null][];
  /** Last time the hourly cap stopped a move (noted once per hour). */
  cappedAt: string | null;
};

export const SERIES_POINTS = 240;

export function emptyRuleRuntime(): TRuleRuntime {
  return {
    phase: 'armed',
    aboveSince: null,
    belowSince: null,
    trippedAt: null,
    lastMoveAt: null,
    steps: [],
    holding: null,
    lastValue: null,
    series: [],
    cappedAt: null,
  };
}

export type TDecision = {
  rt: TRuleRuntime;
  move: 'up' | 'down' | null;
  events: ('trip' | 'cooling' | 'retrip' | 'clear' | 'hold' | 'data_back')[];
};

const since = (iso: string | null, now: Date) => (iso ? now.getTime() - Date.parse(iso) : -1);

/**
 * One evaluation of one rule, pure: hysteresis (trip at or above `trip` for
 * the whole trip window, clear below `clear` for the whole clear window), one
 * ladder step per trip window while hot, one step back per trip window once
 * clear. A missing value holds everything: it breaks both streaks and moves nothing.
 */
export function decideRule(req: {
  rule: TGuardRule;
  prev: TRuleRuntime;
  value: number | null;
  now: Date;
  /** Why a missing value is missing, for the hold it starts. */
  noDataReason?: string | undefined;
}): TDecision {
  const { rule, prev, value, now } = req;
  const noDataReason = req.noDataReason ?? 'no data';
  const at = now.toISOString();
  const rt: TRuleRuntime = {
    ...prev,
    steps: [...prev.steps],
    series: [...prev.series, [now.getTime(), value] as [number, number | null]].slice(-SERIES_POINTS),
    lastValue: value,
  };
  const events: TDecision['events'] = [];
  if (value === null) {
    if (!rt.holding) {
      rt.holding = { since: at, reason: noDataReason };
      events.push('hold');
    }
    rt.aboveSince = null;
    rt.belowSince = null;
    return { rt, move: null, events };
  }
  if (rt.holding) {
    rt.holding = null;
    events.push('data_back');
  }
  const above = value >= rule.trip;
  const below = value < rule.clear;
  rt.aboveSince = above ? (rt.aboveSince ?? at) : null;
  rt.belowSince = below ? (rt.belowSince ?? at) : null;
  const tripWin = rule.tripWindowSeconds * 1000;
  const hot = above && since(rt.aboveSince, now) >= tripWin;
  const cool = below && since(rt.belowSince, now) >= rule.clearWindowSeconds * 1000;
  const moveDue = rt.lastMoveAt === null || since(rt.lastMoveAt, now) >= tripWin;
  const pos = rt.steps.length;
  let move: TDecision['move'] = null;

  switch (rt.phase) {
    case 'armed':
      if (hot) {
        rt.phase = 'tripped';
        rt.trippedAt = at;
        events.push('trip');
        if (pos < rule.ladder.length) move = 'up';
      }
      break;
    case 'tripped':
      if (cool) {
        rt.phase = 'cooling';
        events.push('cooling');
        if (pos > 0) move = 'down';
      } else if (hot && moveDue && pos < rule.ladder.length) {
        move = 'up';
      }
      break;
    case 'cooling':
      if (hot) {
        rt.phase = 'tripped';
        events.push('retrip');
        if (moveDue && pos < rule.ladder.length) move = 'up';
      } else if (below && pos > 0 && moveDue) {
        move = 'down';
      }
      break;
  }
  if (rt.phase === 'cooling' && pos === 0 && move === null) {
    rt.phase = 'armed';
    rt.trippedAt = null;
    events.push('clear');
  }
  return { rt, move, events };
}

/** What the console shows: holding wins, then the phase. */
export function ruleStateLabel(rt: TRuleRuntime): 'armed' | 'tripped' | 'cooling' | 'holding: no data' {
  return rt.holding ? 'holding: no data' : rt.phase;
}
