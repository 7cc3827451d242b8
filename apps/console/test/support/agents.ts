import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../../..');
export const TSX_CLI = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
export const AGENT_MAIN = join(ROOT, 'apps/agent/src/main.ts');
const SIM_NVIDIA_SMI = join(ROOT, 'scripts/fleet-sim/fake-nvidia-smi.mjs');

export type TSimHost = {
  /** Directory with the simulated nvidia-smi, to put first on PATH. */
  bin: string;
  /** While this file exists, nvidia-smi hangs (like a process stuck in the driver) until killed. */
  hangFlag: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
};

/**
 * A GPU host as fleet:sim makes one (scripts/fleet-sim): an nvidia-smi on PATH that runs the
 * moving simulator, plus a flag file that makes it hang instead.
 */
export function makeSimHost(
  opts: { seed?: number; gpus?: number; profile?: 'normal' | 'hot' | 'flaky'; dir?: string } = {},
): TSimHost {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'coolant-sim-host-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const hangFlag = join(dir, 'hang');
  // `exec sleep` keeps one pid, so the collector's kill reaches the sleeper itself.
  writeFileSync(
    join(bin, 'nvidia-smi'),
    `#!/bin/sh\nif [ -e "${hangFlag}" ]; then exec sleep 3600; fi\nexec "${process.execPath}" "${SIM_NVIDIA_SMI}" "$@"\n`,
  );
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  return {
    bin,
    hangFlag,
    stateDir: join(dir, 'state'),
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      SIM_SEED: String(opts.seed ?? 0),
      SIM_GPUS: String(opts.gpus ?? 8),
      SIM_PROFILE: opts.profile ?? 'normal',
    },
  };
}

export type TAgentProcess = {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
};

/** A real agent (tsx on its source, as `npm run agent` runs it) on a simulated host. */
export function startAgent(opts: {
  host: TSimHost;
  server: string;
  enrollToken: string;
  hostname: string;
  intervalSeconds?: number;
  once?: boolean;
}): TAgentProcess {
  const args = [
    TSX_CLI,
    AGENT_MAIN,
    '--server',
    opts.server,
    '--state-dir',
    opts.host.stateDir,
    '--hostname',
    opts.hostname,
    '--interval',
    String(opts.intervalSeconds ?? 5),
  ];
  if (opts.once) args.push('--once');
  let out = '';
  const child = spawn(process.execPath, args, {
    // The secret travels in the environment, as the console's local agent passes it.
    env: { ...opts.host.env, COOLANT_ENROLL_TOKEN: opts.enrollToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    child,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      return child.exitCode;
    },
  };
}

/** Runs `--once` (enroll, one sample, deliver everything) and fails with the agent's output unless it exits 0. */
export async function runAgentOnce(opts: {
  host: TSimHost;
  server: string;
  enrollToken: string;
  hostname: string;
}): Promise<string> {
  const agent = startAgent({ ...opts, once: true });
  const timer = setTimeout(() => agent.child.kill('SIGKILL'), 120_000);
  const code = await agent.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`agent ${opts.hostname} --once exited with ${code}:\n${agent.output()}`);
  return agent.output();
}
