// `npm run docs:env`: writes the table of environment variables in README.md, between
// <!-- env-table:start --> and <!-- env-table:end -->, from the code that reads them:
//
//   console  ZConsoleEnv (apps/console/server/env.ts): each field's .describe() text, its
//            default (what the field parses `undefined` to) and what it accepts (its zod type).
//   agent    USAGE (apps/agent/src/config.ts): the agent reads its variables through parseArgs
//            and `env.X ?? …` fallbacks, not through a schema keyed by variable name, so the
//            option lines of USAGE ("--flag ARG  text (env VAR; default D)") are the source.
//            USAGE is what `coolant-agent --help` prints, and this script checks it against
//            parseConfig itself: each variable must configure exactly what its flag configures,
//            and parseConfig must read no variable that USAGE does not name (agentEnvProblems).
//
// `npm run docs:env -- --check` exits 1 instead of writing when README.md is stale;
// apps/console/test/env-table.test.ts fails in that case too.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseConfig, USAGE, ZAgentConfig } from '../apps/agent/src/config';
import { ZConsoleEnv } from '../apps/console/server/env';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const README_PATH = join(ROOT, 'README.md');
export const START_MARKER = '<!-- env-table:start -->';
export const END_MARKER = '<!-- env-table:end -->';

export type TEnvRow = {
  variable: string;
  readBy: 'console' | 'agent';
  default: string;
  accepts: string;
  meaning: string;
};

/**
 * Fields of ZConsoleEnv without a .describe() of their own. Kept to the ones that are not the
 * console's settings; the script fails once env.ts describes one (so this entry goes) and for any
 * other field without a description (so a new variable cannot ship undocumented).
 */
const DESCRIPTION_FALLBACK: Record<string, string> = {};

type TJsonSchema = {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
};

const BOOLEAN_WORDS = ['true', 'false', '1', '0', 'yes', 'no'];

const code = (value: unknown) => `\`${String(value)}\``;
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** What a variable accepts, from the JSON Schema of the input side of its zod type. */
function describeAccepts(schema: TJsonSchema): string {
  if (schema.enum) {
    const values = schema.enum.map(String);
    if (values.length === BOOLEAN_WORDS.length && BOOLEAN_WORDS.every((w) => values.includes(w)))
      return '`true`/`false` (or `1`/`0`, `yes`/`no`)';
    return values.map(code).join(', ');
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    const kind = schema.type === 'integer' ? 'integer' : 'number';
    if (schema.minimum !== undefined && schema.maximum !== undefined)
      return `${kind} ${schema.minimum}–${schema.maximum}`;
    if (schema.minimum !== undefined) return `${kind} ≥ ${schema.minimum}`;
    if (schema.maximum !== undefined) return `${kind} ≤ ${schema.maximum}`;
    return kind;
  }
  if (schema.type === 'string') {
    if (schema.format === 'uri') return 'http(s) URL';
    const parts: string[] = [];
    if (schema.minLength !== undefined && schema.maxLength !== undefined)
      parts.push(`${schema.minLength}–${schema.maxLength} characters`);
    else if (schema.minLength !== undefined && schema.minLength > 1) parts.push(`≥ ${schema.minLength} characters`);
    else if (schema.maxLength !== undefined) parts.push(`≤ ${schema.maxLength} characters`);
    if (schema.pattern) parts.push(code(schema.pattern));
    return parts.length ? `string, ${parts.join(', ')}` : 'string';
  }
  return schema.type ?? 'any';
}

function inputSchema(field: z.ZodType): TJsonSchema {
  return z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as TJsonSchema;
}

/** One row per field of ZConsoleEnv, in the schema's order. */
export function consoleEnvRows(): TEnvRow[] {
  const shape = ZConsoleEnv.shape as Record<string, z.ZodType>;
  const rows: TEnvRow[] = [];
  for (const [variable, field] of Object.entries(shape)) {
    const fallback = DESCRIPTION_FALLBACK[variable];
    if (field.description && fallback) {
      throw new Error(
        `ZConsoleEnv.${variable} has a .describe() now: remove its entry from DESCRIPTION_FALLBACK in scripts/env-table.ts`,
      );
    }
    const meaning = field.description ?? fallback;
    if (!meaning)
      throw new Error(
        `ZConsoleEnv.${variable} has no .describe(): add one in apps/console/server/env.ts (it becomes the README's documentation)`,
      );
    // What the console uses when the variable is unset: the field's own answer to `undefined`.
    const unset = field.safeParse(undefined);
    const dflt = !unset.success ? '**required**' : unset.data === undefined ? 'unset' : code(unset.data);
    rows.push({ variable, readBy: 'console', default: dflt, accepts: describeAccepts(inputSchema(field)), meaning });
  }
  return rows;
}

export type TAgentOption = {
  flag: string;
  arg: string | null;
  text: string;
  env: string | null;
  default: string | null;
  required: boolean;
};

/** The option lines of the agent's USAGE, continuation lines joined. */
export function parseAgentUsage(usage: string = USAGE): TAgentOption[] {
  const lines = usage.split('\n');
  const synopsis = lines.find((l) => l.startsWith('Usage:'));
  if (!synopsis) throw new Error('the agent USAGE has no "Usage:" line');
  // A flag outside [brackets] in the first synopsis line is required.
  const required = new Set(synopsis.replace(/\[[^\]]*\]/g, '').match(/--[a-z][a-z-]*/g) ?? []);
  const options: TAgentOption[] = [];
  for (const line of lines) {
    const start = /^ {2}(--[a-z][a-z-]*)(?: ([A-Z]+))?\s{2,}(\S.*)$/.exec(line);
    if (start) {
      options.push({
        flag: start[1]!,
        arg: start[2] ?? null,
        text: start[3]!.trim(),
        env: null,
        default: null,
        required: required.has(start[1]!),
      });
      continue;
    }
    const more = /^ {4,}(\S.*)$/.exec(line);
    const last = options.at(-1);
    if (more && last && !more[1]!.startsWith('-')) last.text += ` ${more[1]!.trim()}`;
  }
  for (const o of options) {
    const m = /^(.*?)\s*\(env ([A-Z][A-Z0-9_]*)(?:;\s*default:?\s*(.+))?\)$/.exec(o.text);
    if (!m) continue;
    o.text = m[1]!;
    o.env = m[2]!;
    o.default = m[3]?.trim() ?? null;
  }
  return options;
}

/** A value of the kind each USAGE placeholder names, to run parseConfig with. */
const SAMPLE_OF_ARG: Record<string, string> = {
  URL: 'http://sample.example:3000',
  TOKEN: 'sample-enrollment-secret',
  DIR: '/srv/coolant-env-table-sample',
  SECONDS: '7',
  NAME: 'sample-host',
};
/** The least a parseConfig call needs; every option is tried on top of it. */
const BASE_ARGV = ['--server', 'http://base.example:3000'];

function argvWith(o: TAgentOption, value: string): string[] {
  return o.flag === '--server' ? ['--server', value] : [...BASE_ARGV, o.flag, value];
}

function sampleFor(o: TAgentOption): string {
  const sample = o.arg ? SAMPLE_OF_ARG[o.arg] : undefined;
  if (!sample)
    throw new Error(
      `scripts/env-table.ts has no sample value for ${o.flag} ${o.arg ?? '(no argument)'}: add one to SAMPLE_OF_ARG`,
    );
  return sample;
}

type TConfig = Record<string, unknown>;

// Record, not NodeJS.ProcessEnv: Next's types make NODE_ENV a required key of the latter.
function config(argv: string[], env: Record<string, string | undefined>): TConfig {
  const c = parseConfig(argv, env as NodeJS.ProcessEnv);
  if ('help' in c || 'version' in c) throw new Error('parseConfig answered help/version');
  return c as TConfig;
}

/** The ZAgentConfig keys that differ between two configurations. */
function changedKeys(a: TConfig, b: TConfig): string[] {
  return Object.keys({ ...a, ...b }).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/**
 * Where USAGE and parseConfig disagree: a documented variable that configures something else
 * than its flag (or nothing), or a variable parseConfig reads that USAGE does not document.
 */
export function agentEnvProblems(usage: string = USAGE): string[] {
  const problems: string[] = [];
  const documented = parseAgentUsage(usage).filter((o) => o.env);
  const none = config(BASE_ARGV, {});
  for (const o of documented) {
    const sample = sampleFor(o);
    let byFlag: TConfig;
    let byEnv: TConfig;
    try {
      byFlag = config(argvWith(o, sample), {});
      byEnv = config(o.flag === '--server' ? [] : BASE_ARGV, { [o.env!]: sample });
    } catch (error) {
      problems.push(`${o.flag} ${sample} / ${o.env}=${sample}: ${(error as Error).message}`);
      continue;
    }
    if (changedKeys(none, byFlag).length !== 1)
      problems.push(
        `${o.flag} ${sample} should change one field of parseConfig's result, changes: ${changedKeys(none, byFlag).join(', ') || 'none'}`,
      );
    const differ = changedKeys(byFlag, byEnv);
    if (differ.length)
      problems.push(
        `USAGE says ${o.flag} reads ${o.env}, but ${o.env}=${sample} does not configure what ${o.flag} ${sample} does (${differ.join(', ')} differ)`,
      );
  }
  // Every variable parseConfig looks at, with no flags given and every documented one set.
  const answers = Object.fromEntries(documented.map((o) => [o.env!, sampleFor(o)]));
  const reads = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get: (_, key) => {
      if (typeof key !== 'string') return undefined;
      reads.add(key);
      return answers[key];
    },
  });
  try {
    config([], env);
  } catch (error) {
    problems.push(`parseConfig([], every documented variable set) failed: ${(error as Error).message}`);
  }
  for (const key of reads) {
    if (!(key in answers))
      problems.push(
        `parseConfig reads ${key}, which USAGE in apps/agent/src/config.ts does not document as "(env ${key})"`,
      );
  }
  return problems;
}

/** One row per agent option that USAGE ties to a variable; accepts from ZAgentConfig. */
export function agentEnvRows(usage: string = USAGE): TEnvRow[] {
  const problems = agentEnvProblems(usage);
  if (problems.length) throw new Error(`the agent's USAGE and parseConfig disagree:\n  ${problems.join('\n  ')}`);
  const shape = ZAgentConfig.shape as Record<string, z.ZodType>;
  return parseAgentUsage(usage)
    .filter((o) => o.env)
    .map((o) => {
      // The ZAgentConfig field the option sets (agentEnvProblems checked there is exactly one).
      const [key] = changedKeys(config(BASE_ARGV, {}), config(argvWith(o, sampleFor(o)), {}));
      const field = key ? shape[key] : undefined;
      const accepts = field ? describeAccepts(inputSchema(field)) : o.arg!.toLowerCase();
      const dflt = o.default
        ? /^[\w./~-]+$/.test(o.default)
          ? code(o.default)
          : o.default
        : o.required
          ? '**required**'
          : 'unset';
      return {
        variable: o.env!,
        readBy: 'agent',
        default: dflt,
        accepts,
        meaning: `${o.text.charAt(0).toUpperCase()}${o.text.slice(1)} (\`${o.flag}\`)`,
      };
    });
}

/** The Markdown table README.md carries between the markers. */
export function renderEnvTable(): string {
  const rows = [...consoleEnvRows(), ...agentEnvRows()];
  const lines = [
    '| variable | read by | default | accepts | meaning |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) => `| ${code(r.variable)} | ${r.readBy} | ${cell(r.default)} | ${cell(r.accepts)} | ${cell(r.meaning)} |`,
    ),
  ];
  return lines.join('\n');
}

/** README text with the table between the markers replaced (generated note included). */
export function withEnvTable(readme: string, table: string = renderEnvTable()): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < 0 || end < start)
    throw new Error(`README.md needs the markers ${START_MARKER} and ${END_MARKER}, in that order`);
  const generated = `${START_MARKER}\n<!-- generated by \`npm run docs:env\` (scripts/env-table.ts); edit the code, not this table -->\n${table}\n`;
  return readme.slice(0, start) + generated + readme.slice(end);
}

function main(): void {
  const check = process.argv.includes('--check');
  const current = readFileSync(README_PATH, 'utf8');
  const next = withEnvTable(current);
  if (next === current) {
    console.log('README.md: the environment table is up to date');
    return;
  }
  if (check) {
    console.error('README.md: the environment table is stale; run `npm run docs:env`');
    process.exit(1);
  }
  writeFileSync(README_PATH, next);
  console.log('README.md: environment table written');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
