import { createRequire } from 'node:module';
import { parseInvocation, USAGE, UsageError } from './args';
import { createClient } from './client';
import { execute } from './commands';
import { EnvError, readEnv } from './env';
import { describeError, EXIT } from './errors';

export type TIo = { stdout: (text: string) => void; stderr: (text: string) => void };
export type TRunOptions = { now?: () => Date; timeoutMs?: number };

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** The whole CLI as a function: arguments and environment in, output through io, exit status out. */
export async function run(
  argv: string[],
  env: Record<string, string | undefined>,
  io: TIo,
  opts: TRunOptions = {},
): Promise<number> {
  const now = opts.now ?? (() => new Date());
  const timeoutMs = opts.timeoutMs ?? 15_000;
  let invocation;
  try {
    invocation = parseInvocation(argv, now());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const bare = /^(unknown command|a command is required)/.test(error.message);
    io.stderr(`coolant: ${error.message}${bare ? `\n\n${USAGE}` : ' (coolant --help for usage)\n'}`);
    return EXIT.usage;
  }
  const { command, json } = invocation;
  if (command.kind === 'help') {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  if (command.kind === 'version') {
    io.stdout(json ? `${JSON.stringify({ version: VERSION })}\n` : `coolant ${VERSION}\n`);
    return EXIT.ok;
  }

  let cliEnv;
  try {
    cliEnv = readEnv(env);
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    io.stderr(`coolant: ${error.message}\n`);
    return EXIT.usage;
  }

  try {
    const result = await execute(command, {
      client: createClient(cliEnv),
      url: cliEnv.COOLANT_URL,
      now,
      signal: () => AbortSignal.timeout(timeoutMs),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    io.stdout(`${json ? JSON.stringify(result.json, null, 2) : result.text}\n`);
    return result.exitCode;
  } catch (error) {
    const described = describeError(error, {
      url: cliEnv.COOLANT_URL,
      hasToken: cliEnv.COOLANT_TOKEN !== undefined,
      timeoutMs,
    });
    if (json) io.stdout(`${JSON.stringify({ error: described }, null, 2)}\n`);
    io.stderr(`coolant: ${described.message}\n`);
    return EXIT.failed;
  }
}
