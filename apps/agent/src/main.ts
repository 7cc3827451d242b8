import { Agent, FatalAgentError, type TLogger } from './agent';
import { ConfigError, parseConfig, USAGE } from './config';
import { isInstallCommand, runInstallCommand } from './install/cli';
import { isProbeCommand, runProbeCommand } from './probe/probe';
import { AGENT_VERSION } from './version';

const SHUTDOWN_DEADLINE_MS = 5_000;

const log: TLogger = {
  info: (m) => console.log(`[agent] ${m}`),
  warn: (m) => console.warn(`[agent] ${m}`),
  error: (m) => console.error(`[agent] ${m}`),
};

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  // install/uninstall are one-shot root commands, not the agent loop.
  if (isInstallCommand(argv)) return runInstallCommand(argv, process.env);
  // probe collects once and prints; it needs no --server and opens no connection.
  if (isProbeCommand(argv)) return runProbeCommand(argv, process.env);
  let config;
  try {
    config = parseConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`coolant-agent: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if ('help' in config) {
    console.log(USAGE);
    return 0;
  }
  if ('version' in config) {
    console.log(AGENT_VERSION);
    return 0;
  }

  const controller = new AbortController();
  const onSignal = (sig: string) => {
    if (controller.signal.aborted) return;
    log.info(`${sig}: stopping`);
    controller.abort();
    // Whatever is still in flight gets a bounded time; then we leave anyway.
    setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS).unref();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  log.info(
    `coolant-agent ${AGENT_VERSION} reporting to ${config.server} every ~${config.intervalSeconds}s (state: ${config.stateDir})`,
  );
  try {
    await new Agent(config, log).run(controller.signal);
    return 0;
  } catch (error) {
    if (controller.signal.aborted) return 0;
    log.error(error instanceof FatalAgentError ? error.message : `failed: ${(error as Error).message}`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
