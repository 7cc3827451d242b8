import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ZAgentConfig } from '../config';
import { packaging } from '../packaging';
import { defaultInstallHost, installAgent, InstallError, uninstallAgent, type TInstallHost } from './install';
import { AGENT_INSTALL, renderAgentUnit } from './unit';

export const INSTALL_USAGE = `Usage: coolant-agent install --server URL [--enroll-token TOKEN] [--interval SECONDS] [--print-unit]
       coolant-agent uninstall [--purge]

  install     as root: creates the system user ${AGENT_INSTALL.user}, copies this executable to
              ${AGENT_INSTALL.executablePath}, enrolls once as that user (only the node token is
              kept, in ${AGENT_INSTALL.stateDir}), writes ${AGENT_INSTALL.unitPath} and enables it
    --server URL          console URL (env COOLANT_SERVER)
    --enroll-token TOKEN  enrollment secret (env COOLANT_ENROLL_TOKEN, which keeps it out of ps and
                          shell history)
    --interval SECONDS    seconds between reports (default 5)
    --print-unit          print the systemd unit and exit; installs nothing, needs no root or token
    --binary PATH         executable to install (default: this one; needed when not run as the
                          single executable)
  uninstall   as root: stops, disables and removes the service and the executable
    --purge               also remove ${AGENT_INSTALL.stateDir} (this node's identity) and the user
`;

export type TCliOutput = { out: (text: string) => void; err: (text: string) => void };

const defaultOutput: TCliOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export function isInstallCommand(argv: readonly string[]): boolean {
  return argv[0] === 'install' || argv[0] === 'uninstall';
}

/** `coolant-agent install …` / `coolant-agent uninstall …`; returns the exit code. */
export async function runInstallCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  host: TInstallHost = defaultInstallHost(),
  output: TCliOutput = defaultOutput,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'uninstall') {
      const { values } = parse(rest, {
        purge: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      });
      if (values.help) return usage(output);
      await uninstallAgent({ purge: values.purge === true }, host);
      return 0;
    }
    const { values } = parse(rest, {
      server: { type: 'string' },
      'enroll-token': { type: 'string' },
      interval: { type: 'string' },
      'print-unit': { type: 'boolean', default: false },
      binary: { type: 'string' },
      help: { type: 'boolean', default: false },
    });
    if (values.help) return usage(output);
    const server = parseServer(str(values.server) ?? env.COOLANT_SERVER);
    const intervalSeconds = parseInterval(str(values.interval));
    if (values['print-unit']) {
      output.out(renderAgentUnit({ server, intervalSeconds }));
      return 0;
    }
    const enrollToken = str(values['enroll-token']) ?? env.COOLANT_ENROLL_TOKEN;
    if (!enrollToken) throw new UsageError('--enroll-token (or COOLANT_ENROLL_TOKEN) is required to install');
    await installAgent(
      { server, enrollToken, intervalSeconds, sourceExecutable: sourceExecutable(str(values.binary)) },
      host,
    );
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`coolant-agent ${command}: ${error.message}\n\n${INSTALL_USAGE}`);
      return 2;
    }
    if (error instanceof InstallError) {
      output.err(`coolant-agent ${command}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

class UsageError extends Error {
  override name = 'UsageError';
}

type TOptionSpec = Record<string, { type: 'string' | 'boolean'; default?: boolean }>;

function parse(args: readonly string[], options: TOptionSpec) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function usage(output: TCliOutput): number {
  output.out(INSTALL_USAGE);
  return 0;
}

function parseServer(raw: string | undefined): string {
  if (!raw) throw new UsageError('--server is required (or COOLANT_SERVER)');
  const r = ZAgentConfig.shape.server.safeParse(raw.replace(/\/+$/, ''));
  if (!r.success) throw new UsageError(r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

function parseInterval(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const r = ZAgentConfig.shape.intervalSeconds.safeParse(Number(raw));
  if (!r.success || !Number.isFinite(Number(raw)))
    throw new UsageError(`--interval must be a number of seconds from 1 to 3600, got "${raw}"`);
  return r.data;
}

/** Only the single executable runs where there is no Node; copying node itself would install Node, not the agent. */
function sourceExecutable(binary: string | undefined): string {
  if (binary) return resolve(binary);
  if (packaging() === 'sea') return process.execPath;
  throw new UsageError(
    'install copies the single executable (dist/agent/coolant-agent from npm run agent:package); run that, or pass --binary PATH',
  );
}
