import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

// Both this file (server/) and the console's bundle (dist/) sit three levels below the repository root.
const ROOT = resolve(import.meta.dirname, '../../..');
/** The bundle `npm run agent:package` ships; scripts/build-console.mjs builds it before `npm start`. */
export const AGENT_BUNDLE = join(ROOT, 'dist/agent/coolant-agent.mjs');
const AGENT_SOURCE = join(ROOT, 'apps/agent/src/main.ts');

/**
 * What the local agent may see of the console's environment: what any process needs (PATH finds
 * nvidia-smi and lspci; locale and time zone), and the agent's own variables. Never the console's
 * secrets (DATABASE_URL, COOLANT_ADMIN_PASSWORD, COOLANT_ADMIN_TOKEN), and not NODE_OPTIONS: the
 * console's heap size, --inspect port or loader is not the agent's.
 */
const PASSED = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'LD_LIBRARY_PATH',
  'COOLANT_GENERATOR_WEIGHTS',
];
// COOLANT_AGENT_ROLE would turn the agent into its own collector child.
const PASSED_PREFIX = /^(LC_[A-Z_]+|COOLANT_AGENT_(?!ROLE$)[A-Z_]+)$/;

export function localAgentEnv(source: NodeJS.ProcessEnv, enrollToken: string): NodeJS.ProcessEnv {
  // The secret travels in the environment, not argv, so `ps` does not show it.
  const env: NodeJS.ProcessEnv = { ...source, COOLANT_ENROLL_TOKEN: enrollToken };
  const names = env as Record<string, unknown>;
  for (const name of Object.keys(names)) {
    if (name !== 'COOLANT_ENROLL_TOKEN' && !PASSED.includes(name) && !PASSED_PREFIX.test(name)) delete names[name];
  }
  return env;
}

/**
 * `npm start` runs one agent next to the console so a fresh install shows a
 * node at once. It is an ordinary agent process: it enrolls over HTTP with
 * the enrollment secret, exactly as an agent on a GPU host does. A built console
 * runs the agent bundle with plain node; `npm run dev` (this file as TypeScript)
 * runs the agent's source through tsx, so edits to it count.
 */
export function startLocalAgent(opts: { serverUrl: string; enrollToken: string; dataDir: string }): ChildProcess {
  const fromSource = import.meta.url.endsWith('.ts');
  if (!fromSource && !existsSync(AGENT_BUNDLE))
    throw new Error(`${AGENT_BUNDLE} is missing: run npm run build (or COOLANT_LOCAL_AGENT=false)`);
  const entry = fromSource ? [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), AGENT_SOURCE] : [AGENT_BUNDLE];
  const child = spawn(
    process.execPath,
    [...entry, '--server', opts.serverUrl, '--state-dir', join(opts.dataDir, 'agent')],
    {
      env: localAgentEnv(process.env, opts.enrollToken),
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') console.error(`[console] local agent exited (${signal ?? code})`);
  });
  return child;
}

export async function stopChild(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
