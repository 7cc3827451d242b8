import { homedir, hostname as osHostname } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';

export const ZAgentConfig = z.object({
  server: z.url({ protocol: /^https?$/, error: '--server must be an http(s) URL, e.g. http://console:3000' }),
  enrollToken: z.string().min(1).optional(),
  stateDir: z.string().min(1),
  intervalSeconds: z
    .number()
    .min(1, '--interval must be at least 1 second')
    .max(3600, '--interval must be at most 3600 seconds'),
  once: z.boolean(),
  hostname: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9._-]+$/, '--hostname: letters, digits, . _ - only'),
});
export type TAgentConfig = z.infer<typeof ZAgentConfig>;

/** Seconds between reports when neither --interval nor COOLANT_AGENT_INTERVAL says otherwise. */
export const DEFAULT_INTERVAL_SECONDS = 5;

export const USAGE = `coolant-agent — reports this host's GPUs to a Coolant console

Usage: coolant-agent --server URL [--enroll-token TOKEN] [--state-dir DIR] [--interval SECONDS] [--once]
       coolant-agent install --server URL [--enroll-token TOKEN] [--interval SECONDS] [--print-unit]
       coolant-agent uninstall [--purge]
       coolant-agent probe [--json]

  --server URL          console URL (env COOLANT_SERVER)
  --enroll-token TOKEN  enrollment secret, needed only the first time (env COOLANT_ENROLL_TOKEN)
  --state-dir DIR       keeps the node token and the report spool (env COOLANT_AGENT_STATE_DIR;
                        default $STATE_DIRECTORY under systemd, else ~/.coolant-agent)
  --interval SECONDS    seconds between reports, jittered ±10 % (env COOLANT_AGENT_INTERVAL; default 5)
  --hostname NAME       name to enroll under (env COOLANT_AGENT_HOSTNAME; default: the host's name)
  --once                one cycle, then exit 0 (for tests and cron)
  --version             print the version
  --help                this text

probe: collect once as the agent does and print what it would report (a table; --json: the
exact agent.report payload); needs no server or token, uses no network (probe --help for more).
Exit status of probe:
  0  GPU telemetry collected (notes such as "no lspci" may still be printed)
  1  the probe itself failed
  2  bad arguments
  3  no GPU telemetry: nvidia-smi is missing, failed, timed out or lists no GPU
  4  GPU telemetry collected, but the collector reported errors or lspci and nvidia-smi disagree
  5  the payload does not match the report schema (the console would refuse it)
`;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): TAgentConfig | { help: true } | { version: true } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        server: { type: 'string' },
        'enroll-token': { type: 'string' },
        'state-dir': { type: 'string' },
        interval: { type: 'string' },
        hostname: { type: 'string' },
        once: { type: 'boolean', default: false },
        version: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { help: true };
  if (v.version) return { version: true };
  const intervalRaw = v.interval ?? env.COOLANT_AGENT_INTERVAL ?? String(DEFAULT_INTERVAL_SECONDS);
  const interval = Number(intervalRaw);
  if (!Number.isFinite(interval)) throw new ConfigError(`--interval must be a number of seconds, got "${intervalRaw}"`);
  const server = v.server ?? env.COOLANT_SERVER;
  if (!server) throw new ConfigError('--server is required (or COOLANT_SERVER)');
  const result = ZAgentConfig.safeParse({
    server: server.replace(/\/+$/, ''),
    enrollToken: v['enroll-token'] ?? env.COOLANT_ENROLL_TOKEN ?? undefined,
    stateDir: resolve(
      v['state-dir'] ?? env.COOLANT_AGENT_STATE_DIR ?? env.STATE_DIRECTORY ?? join(homedir(), '.coolant-agent'),
    ),
    intervalSeconds: interval,
    once: v.once ?? false,
    hostname: v.hostname ?? env.COOLANT_AGENT_HOSTNAME ?? osHostname(),
  });
  if (!result.success) throw new ConfigError(result.error.issues.map((i) => i.message).join('; '));
  return result.data;
}
