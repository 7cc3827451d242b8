import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const AGENT_MAIN = resolve(import.meta.dirname, '../../agent/src/main.ts');

/**
 * `npm start` runs one agent next to the console so a fresh install shows a
 * node at once. It is an ordinary agent process: it enrolls over HTTP with
 * the enrollment secret, exactly as an agent on a GPU host does.
 */
export function startLocalAgent(opts: { serverUrl: string; enrollToken: string; dataDir: string }): ChildProcess {
  const tsxCli = resolve(import.meta.dirname, '../../../node_modules/tsx/dist/cli.mjs');
  const child = spawn(
    process.execPath,
    [tsxCli, AGENT_MAIN, '--server', opts.serverUrl, '--state-dir', join(opts.dataDir, 'agent')],
    {
      // The secret travels in the environment, not argv, so `ps` does not show it.
      env: { ...process.env, COOLANT_ENROLL_TOKEN: opts.enrollToken },
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
