import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { killProcessGroup, trackProcessGroup } from './process-group.ts';
import type { TPciGpu } from './schema.ts';
import type { TWorkerMessage, TWorkerRequest } from './si-worker-protocol.ts';

export type TWorkerLaunch = {
  /** Absolute path of the module to fork: si-worker.ts/.js, or a packaged agent forking itself. */
  entry: string;
  execArgv: string[];
  /** Set in the worker on top of the collector's env; e.g. the variable that selects a packaged agent's collector role. */
  env?: Record<string, string>;
};

export type TInventoryPart =
  | { status: 'ok'; controllers: TPciGpu[] }
  | { status: 'no-lspci'; message: string }
  | { status: 'failed'; message: string }
  | { status: 'timeout'; afterMs: number };

/**
 * How to start the worker that sits next to this module: `si-worker.ts` when this module runs as
 * TypeScript (tsx in development, vitest), `si-worker.js` once compiled.
 *
 * A .ts entry gets `--import <tsx loader>` resolved from this package, rather than a copy of the
 * parent's execArgv: under vitest the parent has no Node-level TypeScript loader to copy, and
 * copied flags such as --inspect would make the child fight the parent for the debugger port.
 */
export function defaultWorkerLaunch(): TWorkerLaunch {
  const here = fileURLToPath(import.meta.url);
  return workerLaunchFor(path.join(path.dirname(here), `si-worker${path.extname(here)}`));
}

export function workerLaunchFor(entry: string): TWorkerLaunch {
  if (!entry.endsWith('.ts')) return { entry, execArgv: [] };
  const require = createRequire(import.meta.url);
  return { entry, execArgv: ['--import', pathToFileURL(require.resolve('tsx')).href] };
}

/**
 * Runs one inventory in a fresh child (systeminformation graphics(), which runs lspci and
 * nvidia-smi), and makes sure the child is gone when the answer is returned: it exits by itself
 * once it has answered, and is killed with its whole process group when it has not answered by
 * the deadline or does not exit promptly after answering. So between two inventories no helper
 * process of the collector exists.
 */
export class InventoryChild {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private abort: ((message: string) => void) | null = null;

  /** Without `launch`, the worker next to this module; resolved at each start, so a missing tsx is a health error, not a throw. */
  constructor(private readonly options: { env: NodeJS.ProcessEnv; launch?: TWorkerLaunch }) {}

  /** Pid of the child while an inventory runs; undefined otherwise. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  run(deadline: number): Promise<TInventoryPart> {
    if (this.child) throw new Error('InventoryChild.run called while an inventory is in flight');
    const started = Date.now();
    const id = this.nextId++;
    return new Promise<TInventoryPart>((resolve) => {
      let result: TInventoryPart | null = null;
      let stderrTail = '';
      let settled = false;
      let child: ChildProcess;
      let untrack = () => {};
      const finish = (part: TInventoryPart) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(exitGrace);
        untrack();
        this.child = null;
        this.abort = null;
        resolve(part);
      };
      // Answers once the child is reaped, so "killed" and "no child between inventories" are true when read.
      const killThen = (part: TInventoryPart) => {
        result = part;
        killProcessGroup(child?.pid);
        if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) finish(part);
        // SIGKILL cannot be ignored, but do not let a reaping hiccup hold a collection.
        else setTimeout(() => finish(part), 1000);
      };
      let exitGrace: NodeJS.Timeout | undefined;
      const timer = setTimeout(
        () => {
          if (result) return;
          killThen({ status: 'timeout', afterMs: Date.now() - started });
        },
        Math.max(0, deadline - Date.now()),
      );
      this.abort = (message) => {
        if (!result) killThen({ status: 'failed', message });
      };

      try {
        const launch = this.options.launch ?? defaultWorkerLaunch();
        child = fork(launch.entry, [], {
          execPath: process.execPath,
          execArgv: launch.execArgv,
          env: { ...this.options.env, ...launch.env },
          // Own process group, so a timeout can kill the child together with its nvidia-smi.
          detached: true,
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
          serialization: 'json',
        });
      } catch (error) {
        finish({ status: 'failed', message: `could not start the inventory child: ${describe(error)}` });
        return;
      }
      this.child = child;
      untrack = child.pid === undefined ? () => {} : trackProcessGroup(child.pid);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderrTail = (stderrTail + chunk.toString('utf8')).slice(-2000);
      });
      child.on('message', (raw: unknown) => {
        const message = raw as TWorkerMessage;
        if (result || message?.id !== id) return;
        result =
          message.status === 'ok'
            ? { status: 'ok', controllers: message.controllers }
            : { status: 'failed', message: message.error };
        // It exits by itself right after answering; a child that lingers is killed.
        exitGrace = setTimeout(() => killThen(result!), 1000);
      });
      child.on('error', (error) => {
        if (!result) killThen({ status: 'failed', message: `inventory child error: ${error.message}` });
      });
      child.on('exit', (code, signal) => {
        const stderr = stderrTail.trim();
        // Whatever it left in its group (a shell, lspci) goes with it.
        killProcessGroup(child.pid);
        finish(
          result ?? {
            status: 'failed',
            message: `inventory child exited (${signal ?? `code ${code}`}) without an answer${stderr ? `: ${stderr}` : ''}`,
          },
        );
      });
      const request: TWorkerRequest = { type: 'inventory', id };
      child.send(request, (error) => {
        if (error && !result)
          killThen({ status: 'failed', message: `could not send to the inventory child: ${error.message}` });
      });
    });
  }

  /** Kills a running inventory (agent shutdown); its run() answers "failed" once the child is reaped. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const fallback = setTimeout(resolve, 1000);
      child.once('exit', () => {
        clearTimeout(fallback);
        resolve();
      });
    });
    this.abort?.('collector closed');
    await exited;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
