import { parseArgs } from 'node:util';
import { parseUntil, UntilError } from './until';

export const WINDOWS = ['minute', 'hour', 'day'] as const;
export type TWindow = (typeof WINDOWS)[number];
export const SCOPES = ['subject', 'tier'] as const;
/** subject: each end user on its own (the default); tier: all subjects of the tier together. */
export type TScope = (typeof SCOPES)[number];

export type TCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'status' }
  | { kind: 'pause'; tier: string; reason: string; until: Date | null }
  | { kind: 'resume'; tier: string; reason: string | null }
  | { kind: 'limits-set'; tier: string; window: TWindow; scope: TScope; limit: number | null; reason: string | null }
  | { kind: 'limits-temp'; tier: string; window: TWindow; scope: TScope; limit: number; until: Date; reason: string }
  | { kind: 'limits-clear-temp'; tier: string; window: TWindow; scope: TScope; reason: string | null }
  /** undefined: leave that bound as it is; null: unbounded. */
  | {
      kind: 'concurrency-set';
      tier: string;
      perSubject: number | null | undefined;
      perTier: number | null | undefined;
      reason: string | null;
    }
  | { kind: 'consume'; tier: string; subject: string; cost: number }
  | { kind: 'drill'; live: boolean; tier: string | null }
  | { kind: 'capacity' }
  | { kind: 'capacity-reserve'; tier: string; reserved: number; reason: string | null }
  | { kind: 'notifications' }
  | { kind: 'notifications-test'; channel: (typeof TEST_CHANNELS)[number] };

const TEST_CHANNELS = ['alertmanager', 'webhook', 'all'] as const;

export type TInvocation = { command: TCommand; json: boolean };

export const USAGE = `coolant — operate a Coolant console from the shell

Usage:
  coolant status                                          tiers, limits, pauses and console instances
  coolant pause <tier> --reason TEXT [--until 2h|ISO]     refuse every request of a tier (auto-resume with --until)
  coolant resume <tier> [--reason TEXT]
  coolant limits set <tier> <minute|hour|day> <n|none> [--scope subject|tier] [--reason TEXT]
                                                          base limit (admin); --scope tier: all subjects of the
                                                          tier together (default subject: each end user)
  coolant limits temp <tier> <minute|hour|day> <n> --until 2h|ISO --reason TEXT [--scope subject|tier]
  coolant limits clear-temp <tier> <minute|hour|day> [--scope subject|tier] [--reason TEXT]
  coolant concurrency set <tier> [--per-subject N|none] [--per-tier N|none] [--reason TEXT]
                                                          generations in flight at once (admin): per end user,
                                                          for the whole tier; none = unbounded, a bound not
                                                          given stays as it is
  coolant consume <tier> <subject> [--cost N]             one admission decision (drills)
  coolant drill [--live --tier <tier>]                    guard drill (admin): synthetic hot signal → decision →
                                                          committed → applied on every instance; --live really
                                                          pauses the tier and resumes it
  coolant capacity                                        fleet capacity, each tier's share and leases in flight
  coolant capacity reserve <tier> <n%> [--reason TEXT]    reserve n % of capacity for a tier (admin; others unchanged)
  coolant notifications                                   where alerts are pushed, delivery status, what fires (admin)
  coolant notifications test [alertmanager|webhook|all]   send a CoolantTestAlert (admin; exit 1 if a channel failed)

Options:
  --json      machine-readable output (the API's JSON)
  --help      this text
  --version   the CLI's version

Environment:
  COOLANT_URL     console URL (default http://localhost:3000)
  COOLANT_TOKEN   API token (Tokens page), sent as Bearer

Exit status: 0 ok; 1 the console refused or could not be reached; 2 bad usage;
3 consume was denied.
`;

/** Wrong arguments: the message names what is wrong; the caller prints it with the usage hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type TFlags = {
  reason?: string | undefined;
  until?: string | undefined;
  cost?: string | undefined;
  tier?: string | undefined;
  live?: boolean | undefined;
  scope?: string | undefined;
  'per-subject'?: string | undefined;
  'per-tier'?: string | undefined;
};
type TFlag = keyof TFlags;

const USAGE_OF: Record<string, string> = {
  status: 'coolant status',
  pause: 'coolant pause <tier> --reason TEXT [--until 2h|ISO]',
  resume: 'coolant resume <tier> [--reason TEXT]',
  'limits set': 'coolant limits set <tier> <minute|hour|day> <n|none> [--scope subject|tier] [--reason TEXT]',
  'limits temp': 'coolant limits temp <tier> <minute|hour|day> <n> --until 2h|ISO --reason TEXT [--scope subject|tier]',
  'limits clear-temp': 'coolant limits clear-temp <tier> <minute|hour|day> [--scope subject|tier] [--reason TEXT]',
  'concurrency set': 'coolant concurrency set <tier> [--per-subject N|none] [--per-tier N|none] [--reason TEXT]',
  consume: 'coolant consume <tier> <subject> [--cost N]',
  drill: 'coolant drill [--live --tier <tier>]',
  capacity: 'coolant capacity',
  'capacity reserve': 'coolant capacity reserve <tier> <n%> [--reason TEXT]',
  notifications: 'coolant notifications',
  'notifications test': 'coolant notifications test [alertmanager|webhook|all]',
};

function positionals(name: string, args: string[], count: number): string[] {
  if (args.length !== count) {
    const what = args.length < count ? 'missing arguments' : `unexpected argument "${args[count]}"`;
    throw new UsageError(`${name}: ${what}; usage: ${USAGE_OF[name]}`);
  }
  return args;
}

function onlyFlags(name: string, flags: TFlags, allowed: TFlag[]): void {
  for (const f of Object.keys(flags) as TFlag[]) {
    if (flags[f] !== undefined && !allowed.includes(f))
      throw new UsageError(`${name}: --${f} does not apply; usage: ${USAGE_OF[name]}`);
  }
}

function requiredText(name: string, flag: TFlag, value: string | undefined): string {
  const v = value?.trim();
  if (!v)
    throw new UsageError(
      `${name}: --${flag} is required (${flag === 'reason' ? 'say why, it goes to the audit log' : 'a duration like 2h or an ISO date-time'})`,
    );
  return v;
}

function optionalText(value: string | undefined): string | null {
  return value?.trim() ? value.trim() : null;
}

function window(value: string): TWindow {
  if (!(WINDOWS as readonly string[]).includes(value))
    throw new UsageError(`window: "${value}" must be minute, hour or day`);
  return value as TWindow;
}

function scope(value: string | undefined): TScope {
  if (value === undefined) return 'subject';
  if (!(SCOPES as readonly string[]).includes(value))
    throw new UsageError(`scope: "${value}" must be subject (each end user) or tier (all subjects together)`);
  return value as TScope;
}

/** A concurrency bound: a positive whole number, `none` (unbounded), or absent (unchanged). */
function bound(flag: TFlag, value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  return wholeNumber(`--${flag}`, value, 1, 1_000_000);
}

function wholeNumber(field: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${field}: "${value}" must be a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${field}: ${n} must be between ${min} and ${max}`);
  return n;
}

function until(name: string, value: string | undefined, now: Date): Date {
  try {
    return parseUntil(requiredText(name, 'until', value), now);
  } catch (error) {
    if (error instanceof UntilError) throw new UsageError(error.message);
    throw error;
  }
}

/** argv (without node and the script) → what to do. Throws UsageError with a one-line message. */
export function parseInvocation(argv: string[], now: Date): TInvocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
        reason: { type: 'string' },
        until: { type: 'string' },
        cost: { type: 'string' },
        tier: { type: 'string' },
        live: { type: 'boolean' },
        scope: { type: 'string' },
        'per-subject': { type: 'string' },
        'per-tier': { type: 'string' },
      },
    });
  } catch (error) {
    // node:util's messages are long and mention "strict"; keep the part that names the option.
    throw new UsageError(
      (error as Error).message
        .replace(/\. To specify a positional argument.*$/s, '')
        .replace(/^Unknown option/, 'unknown option'),
    );
  }
  const { values, positionals: pos } = parsed;
  const json = values.json ?? false;
  const flags: TFlags = {
    reason: values.reason,
    until: values.until,
    cost: values.cost,
    tier: values.tier,
    live: values.live,
    scope: values.scope,
    'per-subject': values['per-subject'],
    'per-tier': values['per-tier'],
  };
  if (values.help || pos[0] === 'help') return { command: { kind: 'help' }, json };
  if (values.version) return { command: { kind: 'version' }, json };
  const [verb, ...rest] = pos;
  switch (verb) {
    case undefined:
      throw new UsageError('a command is required');
    case 'status':
      positionals('status', rest, 0);
      onlyFlags('status', flags, []);
      return { command: { kind: 'status' }, json };
    case 'pause': {
      const [tier] = positionals('pause', rest, 1);
      onlyFlags('pause', flags, ['reason', 'until']);
      const reason = requiredText('pause', 'reason', flags.reason);
      return {
        command: {
          kind: 'pause',
          tier: tier!,
          reason,
          until: flags.until === undefined ? null : until('pause', flags.until, now),
        },
        json,
      };
    }
    case 'resume': {
      const [tier] = positionals('resume', rest, 1);
      onlyFlags('resume', flags, ['reason']);
      return { command: { kind: 'resume', tier: tier!, reason: optionalText(flags.reason) }, json };
    }
    case 'consume': {
      const [tier, subject] = positionals('consume', rest, 2);
      onlyFlags('consume', flags, ['cost']);
      const cost = flags.cost === undefined ? 1 : wholeNumber('cost', flags.cost, 1, 1000);
      return { command: { kind: 'consume', tier: tier!, subject: subject!, cost }, json };
    }
    case 'limits':
      return { command: parseLimits(rest, flags, now), json };
    case 'drill': {
      positionals('drill', rest, 0);
      onlyFlags('drill', flags, ['live', 'tier']);
      const live = flags.live ?? false;
      if (live && !flags.tier) throw new UsageError('drill: --live needs --tier <tier> (the tier to pause and resume)');
      if (!live && flags.tier) throw new UsageError('drill: --tier goes with --live');
      return { command: { kind: 'drill', live, tier: flags.tier ?? null }, json };
    }
    case 'capacity':
      return { command: parseCapacity(rest, flags), json };
    case 'concurrency':
      return { command: parseConcurrency(rest, flags), json };
    case 'notifications': {
      const [sub, ...more] = rest;
      if (sub === undefined) {
        onlyFlags('notifications', flags, []);
        return { command: { kind: 'notifications' }, json };
      }
      if (sub !== 'test') throw new UsageError(`notifications: unknown subcommand "${sub}" (none, or test)`);
      onlyFlags('notifications test', flags, []);
      if (more.length > 1) positionals('notifications test', more, 1);
      const channel = more[0] ?? 'all';
      if (!(TEST_CHANNELS as readonly string[]).includes(channel))
        throw new UsageError(`notifications test: channel "${channel}" must be alertmanager, webhook or all`);
      return { command: { kind: 'notifications-test', channel: channel as (typeof TEST_CHANNELS)[number] }, json };
    }
    default:
      throw new UsageError(`unknown command "${verb}"`);
  }
}

function parseLimits(args: string[], flags: TFlags, now: Date): TCommand {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'set': {
      const [tier, w, n] = positionals('limits set', rest, 3);
      onlyFlags('limits set', flags, ['reason', 'scope']);
      const limit = n === 'none' ? null : wholeNumber('limit', n!, 0, 1_000_000_000);
      return {
        kind: 'limits-set',
        tier: tier!,
        window: window(w!),
        scope: scope(flags.scope),
        limit,
        reason: optionalText(flags.reason),
      };
    }
    case 'temp': {
      const [tier, w, n] = positionals('limits temp', rest, 3);
      onlyFlags('limits temp', flags, ['reason', 'until', 'scope']);
      const win = window(w!);
      const sc = scope(flags.scope);
      const limit = wholeNumber('limit', n!, 0, 1_000_000_000);
      const at = until('limits temp', flags.until, now);
      return {
        kind: 'limits-temp',
        tier: tier!,
        window: win,
        scope: sc,
        limit,
        until: at,
        reason: requiredText('limits temp', 'reason', flags.reason),
      };
    }
    case 'clear-temp': {
      const [tier, w] = positionals('limits clear-temp', rest, 2);
      onlyFlags('limits clear-temp', flags, ['reason', 'scope']);
      return {
        kind: 'limits-clear-temp',
        tier: tier!,
        window: window(w!),
        scope: scope(flags.scope),
        reason: optionalText(flags.reason),
      };
    }
    case undefined:
      throw new UsageError('limits: a subcommand is required (set, temp or clear-temp)');
    default:
      throw new UsageError(`limits: unknown subcommand "${sub}" (set, temp or clear-temp)`);
  }
}

/** "10%", "10" or "12.5%" → 0.1, 0.1, 0.125. */
export function percent(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(value.trim());
  if (!m) throw new UsageError(`reserved: "${value}" must be a percentage like 10%`);
  const n = Number(m[1]);
  if (n > 100) throw new UsageError(`reserved: ${n} % must be between 0 % and 100 %`);
  return Math.round(n * 1000) / 100_000;
}

function parseCapacity(args: string[], flags: TFlags): TCommand {
  const [sub, ...rest] = args;
  switch (sub) {
    case undefined:
      onlyFlags('capacity', flags, []);
      return { kind: 'capacity' };
    case 'reserve': {
      const [tier, pct] = positionals('capacity reserve', rest, 2);
      onlyFlags('capacity reserve', flags, ['reason']);
      const reserved = percent(pct!);
      return {
        kind: 'capacity-reserve',
        tier: tier!,
        reserved,
        reason: optionalText(flags.reason),
      };
    }
    default:
      throw new UsageError(`capacity: unknown subcommand "${sub}" (none, or reserve)`);
  }
}

function parseConcurrency(args: string[], flags: TFlags): TCommand {
  const [sub, ...rest] = args;
  if (sub === undefined) throw new UsageError('concurrency: a subcommand is required (set)');
  if (sub !== 'set') throw new UsageError(`concurrency: unknown subcommand "${sub}" (set)`);
  const [tier] = positionals('concurrency set', rest, 1);
  onlyFlags('concurrency set', flags, ['per-subject', 'per-tier', 'reason']);
  const perSubject = bound('per-subject', flags['per-subject']);
  const perTier = bound('per-tier', flags['per-tier']);
  if (perSubject === undefined && perTier === undefined)
    throw new UsageError(
      `concurrency set: --per-subject and/or --per-tier is required (N, or none for unbounded); usage: ${USAGE_OF['concurrency set']}`,
    );
  return { kind: 'concurrency-set', tier: tier!, perSubject, perTier, reason: optionalText(flags.reason) };
}
