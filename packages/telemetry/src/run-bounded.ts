import { spawn } from 'node:child_process';
import { killProcessGroup, trackProcessGroup } from './process-group.ts';

export type TRunResult =
  | { kind: 'exited'; exitCode: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }
  | { kind: 'not-found'; message: string }
  | { kind: 'spawn-failed'; message: string }
  | { kind: 'timeout'; afterMs: number; pid: number | undefined; stdout: string; stderr: string }
  | { kind: 'too-much-output'; limitBytes: number };

export type TRunBoundedOptions = {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** 64 GPUs × a few hundred bytes is tiny; anything near this means the tool is not what we think. */
  maxOutputBytes?: number;
};

/**
 * Runs a command asynchronously, in its own process group, and SIGKILLs the whole group when it
 * outlives `timeoutMs`. Resolves only after the child has been reaped, so a caller that reports
 * "killed" can rely on the process being gone.
 */
export function runBounded(file: string, args: readonly string[], options: TRunBoundedOptions): Promise<TRunResult> {
  const maxOutputBytes = options.maxOutputBytes ?? 4 * 1024 * 1024;
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(file, args, { env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const untrack = child.pid === undefined ? () => false : trackProcessGroup(child.pid);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let outputBytes = 0;
    let outcome: 'timeout' | 'too-much-output' | null = null;
    let timedOutAfterMs = 0;

    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      outputBytes += chunk.length;
      if (outputBytes > maxOutputBytes && outcome === null) {
        outcome = 'too-much-output';
        killProcessGroup(child.pid);
        return;
      }
      into.push(chunk);
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));

    const timer = setTimeout(
      () => {
        outcome = 'timeout';
        timedOutAfterMs = Date.now() - started;
        killProcessGroup(child.pid);
      },
      Math.max(0, options.timeoutMs),
    );

    let settled = false;
    const finish = (result: TRunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      untrack();
      resolve(result);
    };

    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') finish({ kind: 'not-found', message: `${file}: not found` });
      else finish({ kind: 'spawn-failed', message: `${file}: ${error.message}` });
    });
    // A grandchild that left the group could hold the pipes open forever; do not wait on it.
    child.on('exit', () => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1000).unref();
    });
    // 'close' waits for the pipes as well as the exit, so no output is lost; after a group kill
    // every writer is dead, so the pipes close promptly.
    child.on('close', (exitCode, signal) => {
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      if (outcome === 'timeout')
        finish({ kind: 'timeout', afterMs: timedOutAfterMs, pid: child.pid, stdout: out, stderr: err });
      else if (outcome === 'too-much-output') finish({ kind: 'too-much-output', limitBytes: maxOutputBytes });
      else finish({ kind: 'exited', exitCode, signal, stdout: out, stderr: err });
    });
  });
}
