// parseRuntime is pure: the stored text in, the runtime the ladder may trust out.
import { describe, expect, it } from 'vitest';
import { decideRule, emptyRuleRuntime } from './decide';
import type { TGuardRule } from './guard-config';
import { parseRuntime } from './guard-state';

const rule: TGuardRule = {
  id: 'hot',
  enabled: true,
  dryRun: false,
  signal: 'hot_share',
  temperatureC: 85,
  trip: 0.5,
  clear: 0.2,
  tripWindowSeconds: 0,
  clearWindowSeconds: 120,
  ladder: [{ tier: 'free', action: 'pause' }],
};
const now = new Date('2026-12-01T00:00:00Z');

describe('parseRuntime', () => {
  it('reads back what the guard wrote, steps and series included', () => {
    const tripped = decideRule({ rule, prev: emptyRuleRuntime(), value: 0.9, now }).rt;
    const rt = {
      ...tripped,
      steps: [
        {
          step: 0,
          tier: 'free',
          action: 'pause' as const,
          status: 'applied' as const,
          at: now.toISOString(),
          tempLimitId: null,
          configVersion: 3,
        },
      ],
    };
    const runtime = { rules: { hot: rt }, lastEvalAt: now.toISOString(), lastEvalBy: 'i1' };
    expect(parseRuntime(JSON.stringify(runtime))).toEqual(runtime);
  });

  it('a rule whose runtime is not one starts from empty; the others and an older row missing cappedAt are kept', () => {
    const { cappedAt: _dropped, ...older } = emptyRuleRuntime();
    const text = JSON.stringify({
      rules: { old: older, bad: { phase: 'exploded', steps: 'none' }, worse: 7 },
      lastEvalAt: null,
      lastEvalBy: null,
    });
    expect(parseRuntime(text)).toEqual({ rules: { old: emptyRuleRuntime() }, lastEvalAt: null, lastEvalBy: null });
  });

  it('text that is not JSON, or JSON that is not an object, is the empty runtime', () => {
    const empty = { rules: {}, lastEvalAt: null, lastEvalBy: null };
    expect(parseRuntime('{not json')).toEqual(empty);
    expect(parseRuntime('null')).toEqual(empty);
    expect(parseRuntime('[1,2]')).toEqual({ ...empty });
  });
});
