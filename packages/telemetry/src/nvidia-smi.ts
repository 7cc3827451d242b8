import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { selectQueryFields, gpuSampleFromRow } from './gpu-fields.ts';
import { parseHelpQueryGpu } from './help-query-gpu.ts';
import { parseQueryGpuCsv } from './query-gpu-csv.ts';
import { runBounded, type TRunResult } from './run-bounded.ts';
import type { TCollectionPart, TCollectorHealth, TGpuSample } from './schema.ts';

export type TNvidiaSmiResult = {
  gpus: TGpuSample[];
  health: TCollectorHealth['nvidiaSmi'];
  errors: string[];
  timeout: { part: TCollectionPart; afterMs: number } | null;
};

export type TQueryNvidiaSmiOptions = {
  /** A bare name is looked up on env.PATH, like a shell would. */
  nvidiaSmiPath: string;
  env: NodeJS.ProcessEnv;
  /** Epoch ms by which everything, --help-query-gpu included, must be done. */
  deadline: number;
};

/**
 * Supported-field sets, learned once per nvidia-smi binary. Keyed by path, size and mtime so a
 * driver upgrade under a running agent (new binary, new field list) is learned again instead of
 * making every later query fail on a field the new driver dropped.
 */
const helpCache = new Map<string, ReadonlySet<string>>();

/** nvidia-smi prints "Field "x" is not a valid field to query." when the cache is stale. */
const INVALID_FIELD = /is not a valid field/i;

export async function queryNvidiaSmi(options: TQueryNvidiaSmiOptions): Promise<TNvidiaSmiResult> {
  const executable = await resolveExecutable(options.nvidiaSmiPath, options.env);
  if (!executable) {
    const where = options.nvidiaSmiPath.includes('/') ? 'not found or not executable' : 'not found on PATH';
    return failure('missing', null, `${options.nvidiaSmiPath} ${where}`);
  }

  const cacheKey = await binaryKey(executable);
  let supported = cacheKey ? helpCache.get(cacheKey) : undefined;
  if (!supported) {
    const help = await runBounded(executable, ['--help-query-gpu'], {
      env: options.env,
      timeoutMs: options.deadline - Date.now(),
    });
    if (help.kind !== 'exited' || help.exitCode !== 0)
      return fromFailedRun(help, 'nvidia-smi-help', '--help-query-gpu');
    const parsed = parseHelpQueryGpu(help.stdout);
    if (parsed.supported.size === 0) return failure('failed', 0, '--help-query-gpu listed no fields');
    supported = parsed.supported;
    if (cacheKey) helpCache.set(cacheKey, supported);
  }

  const { fields, unsupported } = selectQueryFields(supported);
  const run = await runBounded(executable, [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'], {
    env: options.env,
    timeoutMs: options.deadline - Date.now(),
  });
  if (run.kind !== 'exited') return fromFailedRun(run, 'nvidia-smi-query', '--query-gpu', fields, unsupported);

  const parsed = parseQueryGpuCsv(run.stdout, fields);
  const errors: string[] = [];
  const gpus = parsed.rows.map((row, i) => gpuSampleFromRow(row, errors, `GPU ${row['index'] ?? `line ${i + 1}`}`));
  // Line problems carry no GPU label of their own; say where they came from.
  errors.unshift(...parsed.problems.map((problem) => `nvidia-smi output ${problem}`));

  if (run.exitCode !== 0) {
    if (cacheKey && INVALID_FIELD.test(run.stdout + run.stderr)) helpCache.delete(cacheKey);
    // A lost GPU fails the exit code but the other GPUs' lines are still worth keeping.
    const message = describeFailure(run, fields.length);
    return {
      gpus,
      errors: [`nvidia-smi exited with code ${run.exitCode ?? run.signal}: ${message}`, ...errors],
      health: { status: 'failed', exitCode: run.exitCode, message, ...withFields(fields, unsupported) },
      timeout: null,
    };
  }
  return {
    gpus,
    errors,
    health: { status: 'ok', exitCode: 0, message: null, ...withFields(fields, unsupported) },
    timeout: null,
  };
}

function withFields(queriedFields: string[], unsupportedFields: string[]) {
  return { queriedFields, unsupportedFields };
}

function failure(
  status: 'missing' | 'failed',
  exitCode: number | null,
  message: string,
  fields: string[] = [],
  unsupported: string[] = [],
): TNvidiaSmiResult {
  return {
    gpus: [],
    errors: [status === 'missing' ? `nvidia-smi missing: ${message}` : `nvidia-smi failed: ${message}`],
    health: { status, exitCode, message, ...withFields(fields, unsupported) },
    timeout: null,
  };
}

function fromFailedRun(
  run: TRunResult,
  part: TCollectionPart,
  what: string,
  fields: string[] = [],
  unsupported: string[] = [],
): TNvidiaSmiResult {
  switch (run.kind) {
    case 'not-found':
      return failure('missing', null, run.message, fields, unsupported);
    case 'spawn-failed':
      return failure('failed', null, run.message, fields, unsupported);
    case 'too-much-output':
      return failure(
        'failed',
        null,
        `nvidia-smi ${what} printed more than ${run.limitBytes} bytes`,
        fields,
        unsupported,
      );
    case 'timeout':
      return {
        gpus: [],
        errors: [`nvidia-smi ${what} timed out after ${run.afterMs} ms and was killed`],
        health: {
          status: 'timeout',
          exitCode: null,
          message: `${what} timed out after ${run.afterMs} ms`,
          ...withFields(fields, unsupported),
        },
        timeout: { part, afterMs: run.afterMs },
      };
    case 'exited': {
      const message = describeFailure(run);
      return {
        gpus: [],
        errors: [`nvidia-smi ${what} exited with code ${run.exitCode ?? run.signal}: ${message}`],
        health: { status: 'failed', exitCode: run.exitCode, message, ...withFields(fields, unsupported) },
        timeout: null,
      };
    }
  }
}

/**
 * nvidia-smi prints its errors ("No devices were found", "Unable to determine the device handle
 * for GPU0000:41:00.0: GPU is lost...") on stdout, mixed with any good CSV lines; keep the lines
 * too short to be a GPU's line of `fieldCount` values.
 */
function describeFailure(run: Extract<TRunResult, { kind: 'exited' }>, fieldCount = Number.POSITIVE_INFINITY): string {
  const lines = `${run.stderr}\n${run.stdout}`
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line.split(', ').length < fieldCount);
  const message = lines.join(' | ') || `no output (signal ${run.signal ?? 'none'})`;
  return message.length > 1000 ? `${message.slice(0, 1000)}…` : message;
}

async function resolveExecutable(command: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  const candidates = command.includes('/')
    ? [command]
    : (env['PATH'] ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, command));
  for (const candidate of candidates) {
    try {
      await access(candidate, fsConstants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not here; keep looking.
    }
  }
  return null;
}

async function binaryKey(executable: string): Promise<string | null> {
  try {
    const info = await stat(executable);
    return `${executable}\0${info.size}\0${info.mtimeMs}`;
  } catch {
    return null;
  }
}
