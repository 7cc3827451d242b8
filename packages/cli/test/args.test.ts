import { describe, expect, it } from 'vitest';
import { parseInvocation, UsageError } from '../src/args';

const now = new Date('2026-11-27T22:00:00.000Z');
const parse = (line: string) => parseInvocation(line.split(' ').filter(Boolean), now);
const fails = (line: string) => {
  try {
    parse(line);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`"${line}" parsed`);
};

describe('parseInvocation', () => {
  it('status, with and without --json', () => {
    expect(parse('status')).toEqual({ command: { kind: 'status' }, json: false });
    expect(parse('status --json')).toEqual({ command: { kind: 'status' }, json: true });
    expect(parse('--json status').json).toBe(true);
  });

  it('pause with a reason and an optional --until', () => {
    expect(parseInvocation(['pause', 'free', '--reason', 'GPUs melting'], now).command).toEqual({
      kind: 'pause',
      tier: 'free',
      reason: 'GPUs melting',
      until: null,
    });
    expect(parseInvocation(['pause', 'free', '--reason=drill', '--until', '2h'], now).command).toEqual({
      kind: 'pause',
      tier: 'free',
      reason: 'drill',
      until: new Date('2026-11-28T00:00:00.000Z'),
    });
    expect(parse('pause free --reason x --until 2026-11-28T06:00:00Z').command).toMatchObject({
      until: new Date('2026-11-28T06:00:00Z'),
    });
  });

  it('pause without a reason, or with a blank one, is refused', () => {
    expect(fails('pause free')).toMatch(/--reason is required/);
    expect(() => parseInvocation(['pause', 'free', '--reason', '   '], now)).toThrow(/--reason is required/);
    expect(fails('pause --reason x')).toMatch(/pause: missing arguments/);
    expect(fails('pause free extra --reason x')).toMatch(/unexpected argument "extra"/);
    expect(fails('pause free --reason x --until yesterday')).toMatch(/^--until: "yesterday" is neither/);
    expect(fails('pause free --reason x --until 2020-01-01T00:00:00Z')).toMatch(/not in the future/);
  });

  it('resume with an optional reason', () => {
    expect(parse('resume free').command).toEqual({ kind: 'resume', tier: 'free', reason: null });
    expect(parse('resume free --reason ok').command).toEqual({ kind: 'resume', tier: 'free', reason: 'ok' });
    expect(fails('resume free --until 2h')).toMatch(/resume: --until does not apply/);
  });

  it('limits set / temp / clear-temp', () => {
    expect(parse('limits set free day 3').command).toEqual({
      kind: 'limits-set',
      tier: 'free',
      window: 'day',
      scope: 'subject',
      limit: 3,
      reason: null,
    });
    expect(parse('limits set free day none --reason relax').command).toEqual({
      kind: 'limits-set',
      tier: 'free',
      window: 'day',
      scope: 'subject',
      limit: null,
      reason: 'relax',
    });
    expect(parse('limits temp pro hour 50 --until 90m --reason catch-up').command).toEqual({
      kind: 'limits-temp',
      tier: 'pro',
      window: 'hour',
      scope: 'subject',
      limit: 50,
      until: new Date('2026-11-27T23:30:00.000Z'),
      reason: 'catch-up',
    });
    expect(parse('limits clear-temp pro hour').command).toEqual({
      kind: 'limits-clear-temp',
      tier: 'pro',
      window: 'hour',
      scope: 'subject',
      reason: null,
    });
  });

  it('limits: names the field that is wrong', () => {
    expect(fails('limits set free week 3')).toBe('window: "week" must be minute, hour or day');
    expect(fails('limits set free day 2.5')).toBe('limit: "2.5" must be a whole number');
    expect(fails('limits set free day 2000000000')).toMatch(/^limit: 2000000000 must be between 0 and 1000000000/);
    expect(fails('limits temp pro hour 50 --reason x')).toMatch(/--until is required/);
    expect(fails('limits temp pro hour 50 --until 2h')).toMatch(/--reason is required/);
    expect(fails('limits temp pro hour none --until 2h --reason x')).toMatch(/^limit: "none" must be a whole number/);
    expect(fails('limits')).toMatch(/a subcommand is required/);
    expect(fails('limits raise free day 3')).toMatch(/unknown subcommand "raise"/);
  });

  it('limits with --scope tier (all subjects of the tier together); a bad scope is named', () => {
    expect(parse('limits set free minute 2000 --scope tier').command).toEqual({
      kind: 'limits-set',
      tier: 'free',
      window: 'minute',
      scope: 'tier',
      limit: 2000,
      reason: null,
    });
    expect(parse('limits set free minute 3 --scope subject').command).toMatchObject({ scope: 'subject' });
    expect(parse('limits temp free minute 500 --until 1h --reason surge --scope tier').command).toMatchObject({
      kind: 'limits-temp',
      scope: 'tier',
      limit: 500,
    });
    expect(parse('limits clear-temp free minute --scope tier').command).toMatchObject({
      kind: 'limits-clear-temp',
      scope: 'tier',
    });
    expect(fails('limits set free minute 2000 --scope global')).toBe(
      'scope: "global" must be subject (each end user) or tier (all subjects together)',
    );
    expect(fails('status --scope tier')).toMatch(/status: --scope does not apply/);
  });

  it('concurrency set: --per-subject and --per-tier, none = unbounded, at least one of them', () => {
    expect(parse('concurrency set free --per-subject 1 --per-tier 400').command).toEqual({
      kind: 'concurrency-set',
      tier: 'free',
      perSubject: 1,
      perTier: 400,
      reason: null,
    });
    expect(parse('concurrency set free --per-tier none --reason relax').command).toEqual({
      kind: 'concurrency-set',
      tier: 'free',
      perSubject: undefined,
      perTier: null,
      reason: 'relax',
    });
    expect(parse('concurrency set free --per-subject=2').command).toMatchObject({ perSubject: 2, perTier: undefined });
    expect(fails('concurrency set free')).toMatch(/^concurrency set: --per-subject and\/or --per-tier is required/);
    expect(fails('concurrency set free --per-tier 0')).toBe('--per-tier: 0 must be between 1 and 1000000');
    expect(fails('concurrency set free --per-subject 1.5')).toBe('--per-subject: "1.5" must be a whole number');
    expect(fails('concurrency set free --per-subject -1')).toMatch(/--per-subject/);
    expect(fails('concurrency set --per-tier 3')).toMatch(/^concurrency set: missing arguments/);
    expect(fails('concurrency set free --per-tier 3 --until 2h')).toMatch(/concurrency set: --until does not apply/);
    expect(fails('concurrency')).toBe('concurrency: a subcommand is required (set)');
    expect(fails('concurrency raise free')).toBe('concurrency: unknown subcommand "raise" (set)');
  });

  it('consume with an optional --cost', () => {
    expect(parse('consume free alice').command).toEqual({ kind: 'consume', tier: 'free', subject: 'alice', cost: 1 });
    expect(parse('consume free alice --cost 4').command).toEqual({
      kind: 'consume',
      tier: 'free',
      subject: 'alice',
      cost: 4,
    });
    expect(fails('consume free alice --cost 0')).toMatch(/^cost: 0 must be between 1 and 1000/);
    expect(fails('consume free alice --cost two')).toMatch(/^cost: "two" must be a whole number/);
    expect(fails('consume free')).toMatch(/consume: missing arguments/);
  });

  it('drill, dry by default; --live needs --tier', () => {
    expect(parse('drill').command).toEqual({ kind: 'drill', live: false, tier: null });
    expect(parse('drill --live --tier free').command).toEqual({ kind: 'drill', live: true, tier: 'free' });
    expect(fails('drill --live')).toMatch(/--live needs --tier/);
    expect(fails('drill --tier free')).toMatch(/--tier goes with --live/);
    expect(fails('drill --reason x')).toMatch(/drill: --reason does not apply/);
  });

  it('help, version, unknown commands and options', () => {
    expect(parse('--help').command).toEqual({ kind: 'help' });
    expect(parse('help').command).toEqual({ kind: 'help' });
    expect(parse('-h').command).toEqual({ kind: 'help' });
    expect(parse('--version').command).toEqual({ kind: 'version' });
    expect(fails('')).toBe('a command is required');
    expect(fails('frobnicate')).toBe('unknown command "frobnicate"');
    expect(fails('status --bogus')).toMatch(/^unknown option '--bogus'/);
    expect(fails('status --reason x')).toMatch(/status: --reason does not apply/);
  });

  it('capacity, and capacity reserve <tier> <n%> with an optional reason', () => {
    expect(parse('capacity').command).toEqual({ kind: 'capacity' });
    expect(parse('capacity reserve free 10% --reason launch').command).toEqual({
      kind: 'capacity-reserve',
      tier: 'free',
      reserved: 0.1,
      reason: 'launch',
    });
    expect(parse('capacity reserve pro 12.5 --reason x').command).toMatchObject({ reserved: 0.125 });
    expect(parse('capacity reserve pro 0% --reason x').command).toMatchObject({ reserved: 0 });
    // Exactly as the issue writes it: no reason needed.
    expect(parse('capacity reserve free 10%').command).toEqual({
      kind: 'capacity-reserve',
      tier: 'free',
      reserved: 0.1,
      reason: null,
    });
    expect(fails('capacity reserve free 120% --reason x')).toBe('reserved: 120 % must be between 0 % and 100 %');
    expect(fails('capacity reserve free ten --reason x')).toBe('reserved: "ten" must be a percentage like 10%');
    expect(fails('capacity reserve free --reason x')).toMatch(/^capacity reserve: missing arguments/);
    expect(fails('capacity grow')).toBe('capacity: unknown subcommand "grow" (none, or reserve)');
    expect(fails('capacity --reason x')).toMatch(/^capacity: --reason does not apply/);
  });
});
