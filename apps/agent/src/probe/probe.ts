/**
 * `coolant-agent probe [--json]`: the first command an operator runs on a new GPU host. It collects
 * once with the agent's own collector and builds the report through the agent's own spool and
 * sender (a throw-away spool in a temp dir, a "console" that is a variable), so what it prints is
 * what the agent would post, without a server, a token or any network.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Spool, type TCollectedSample, type TCollectorOptions } from '@coolant/telemetry';
import { collectTimeoutMs, createAgentCollector } from '../agent';
import { DEFAULT_INTERVAL_SECONDS } from '../config';
import { SpoolSender } from '../deliver';
import { reportRequest, ZAgentReport, type TAgentReport } from '../report-request';
import { assess, PROBE_EXIT, renderTable } from './probe-report';

export const PROBE_USAGE = `Usage: coolant-agent probe [--json]

Collects once, exactly as the agent does (nvidia-smi, the PCI inventory through lspci, host
metrics), and prints what the agent would report: a table of the GPUs, the host and the
collector's health, or with --json the exact agent.report payload (notes on stderr). Needs no
server and no token, and uses no network.

  --json   print the payload the agent would send, as JSON, on stdout
  --help   this text

Exit status:
  ${PROBE_EXIT.ok}  GPU telemetry collected (notes such as "no lspci" may still be printed)
  ${PROBE_EXIT.failed}  the probe itself failed
  ${PROBE_EXIT.usage}  bad arguments
  ${PROBE_EXIT.noGpuTelemetry}  no GPU telemetry: nvidia-smi is missing, failed, timed out or lists no GPU
  ${PROBE_EXIT.collectorErrors}  GPU telemetry collected, but the collector reported errors or lspci and
     nvidia-smi disagree
  ${PROBE_EXIT.invalidPayload}  the payload does not match the report schema (the console would refuse it)
`;

export type TProbeOutput = { out: (text: string) => void; err: (text: string) => void };

const defaultOutput: TProbeOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export function isProbeCommand(argv: readonly string[]): boolean {
  return argv[0] === 'probe';
}

export type TProbeResult = {
  payload: TAgentReport;
  /** Where the payload fails ZAgentReport; empty when the console's schema would take it. */
  schemaIssues: string[];
};

/** One collection, turned into the report body by the same spool and sender the agent uses. */
export async function probeOnce(req: {
  env: NodeJS.ProcessEnv;
  intervalSeconds?: number;
  hostFiles?: TCollectorOptions['hostFiles'];
}): Promise<TProbeResult> {
  const intervalSeconds = req.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  const collector = createAgentCollector(req.env, { hostFiles: req.hostFiles });
  let sample: TCollectedSample;
  try {
    sample = await collector.collect({ timeoutMs: collectTimeoutMs(intervalSeconds) });
  } finally {
    await collector.close();
  }
  let payload: TAgentReport | null = null;
  try {
    payload = await throughSpool(sample, intervalSeconds);
  } catch (error) {
    // The spool validates what it stores; a sample it refuses is reported below, not thrown.
    if (!(error instanceof Error && error.name === 'ZodError')) throw error;
  }
  payload ??= reportRequest({ intervalSeconds, samples: [{ seq: 1, spoolDropped: 0, ...sample }] });
  const checked = ZAgentReport.safeParse(payload);
  const schemaIssues = checked.success
    ? []
    : checked.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
  return { payload, schemaIssues };
}

async function throughSpool(sample: TCollectedSample, intervalSeconds: number): Promise<TAgentReport> {
  const dir = await mkdtemp(join(tmpdir(), 'coolant-agent-probe-'));
  try {
    const spool = await Spool.open({ dir, durable: false });
    try {
      await spool.append(sample);
      let posted: TAgentReport | null = null;
      const quiet = { info: () => {}, warn: () => {}, error: () => {} };
      const sender = new SpoolSender(
        spool,
        async (samples) => {
          posted = reportRequest({ intervalSeconds, samples });
          return { acceptedUpTo: samples.at(-1)!.seq, accepted: samples.length };
        },
        quiet,
        { delivered: 0, quarantined: 0 },
      );
      await sender.drain();
      if (!posted) throw new Error('the sender posted nothing for the probe sample');
      return posted;
    } finally {
      await spool.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `coolant-agent probe …`; returns the exit code (PROBE_EXIT). */
export async function runProbeCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  output: TProbeOutput = defaultOutput,
  hostFiles?: TCollectorOptions['hostFiles'],
): Promise<number> {
  let json: boolean;
  try {
    const { values } = parseArgs({
      args: argv.slice(1),
      strict: true,
      allowPositionals: false,
      options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    });
    if (values.help) {
      output.out(PROBE_USAGE);
      return PROBE_EXIT.ok;
    }
    json = values.json ?? false;
  } catch (error) {
    output.err(`coolant-agent probe: ${(error as Error).message}\n\n${PROBE_USAGE}`);
    return PROBE_EXIT.usage;
  }
  let result: TProbeResult;
  try {
    result = await probeOnce({ env, hostFiles });
  } catch (error) {
    output.err(`coolant-agent probe: collection failed: ${(error as Error).message}\n`);
    return PROBE_EXIT.failed;
  }
  const verdict = assess(result, env);
  if (json) {
    output.out(`${JSON.stringify(result.payload, null, 2)}\n`);
    for (const line of verdict.lines) output.err(`coolant-agent probe: ${line}\n`);
  } else {
    output.out(renderTable(result, verdict));
  }
  return verdict.exitCode;
}
