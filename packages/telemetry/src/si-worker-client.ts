import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { killProcessGroup, trackProcessGroup } from './process-group.ts';
import type { TPciGpu } from './schema.ts';
import type { TWorkerHostMetrics, TWorkerMessage, TWorkerRequest } from './si-worker-protocol.ts';

export type TWorkerLaunch = {
  /** Absolute path of the module to fork: si-worker.ts/.js, or a packaged agent forking itself. */
  entry: string;
  execArgv: string[];
  /** Set in the worker on top of the collector's env; e.g. the variable that selects a packaged agent's collector role. */
  env?: Record<string, string>;
};

export type THostPart =
  | { status: 'ok'; metrics: TWorkerHostMetrics }
  | { status: 'failed'; message: string }
  | { status: 'timeout'; afterMs: number };

export type TInventoryPart =
  | { status: 'ok'; controllers: TPciGpu[] }
  | { status: 'no-lspci'; message: string }
  | { status: 'failed'; message: string }
  | { status: 'timeout'; afterMs: number };

export type TWorkerCollectResult = { host: THostPart; inventory: TInventoryPart };

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

type TPending = {
  id: number;
  started: number;
  host: THostPart | null;
  inventory: TInventoryPart | null;
  /** Set once the deadline passed; late messages from the dying worker are ignored. */
  timedOut: boolean;
  done: () => void;
};

/**
 * A long-lived systeminformation worker. It is kept between collections because si.currentLoad()
 * measures the interval since its previous call in the same process; it is killed (whole process
 * group) when a collection overruns its deadline and started again on the next one.
 */
export class SiWorker {
  private child: ChildProcess | null = null;
  private untrack: () => void = () => {};
  private pending: TPending | null = null;
  private nextId = 1;
  private stderrTail = '';
  /** The current worker has sent something: it is past its start-up. */
  private answered = false;

  /** Without `launch`, the worker next to this module; resolved at first start, so a missing tsx is a health error, not a throw. */
  constructor(private readonly options: { env: NodeJS.ProcessEnv; launch?: TWorkerLaunch }) {}

  /** Pid of the running worker, if any; exposed for tests that check it was killed. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  collect(deadline: number): Promise<TWorkerCollectResult> {
    if (this.pending) throw new Error('SiWorker.collect called while a collection is in flight');
    return new Promise((resolve) => {
      const pending: TPending = {
        id: this.nextId++,
        started: Date.now(),
        host: null,
        inventory: null,
        timedOut: false,
        done: () => {
          if (this.pending !== pending) return;
          clearTimeout(timer);
          this.pending = null;
          resolve({
            host: pending.host ?? { status: 'failed', message: 'worker ended without host metrics' },
            inventory: pending.inventory ?? { status: 'failed', message: 'worker ended without an inventory' },
          });
        },
      };
      this.pending = pending;
      const timer = setTimeout(() => {
        const afterMs = Date.now() - pending.started;
        pending.timedOut = true;
        pending.host ??= { status: 'timeout', afterMs };
        pending.inventory ??= { status: 'timeout', afterMs };
        // A worker that has not said anything yet is still starting (seconds on a loaded host, and
        // it does not call nvidia-smi before its first request): killing it would only restart
        // the start-up, every cycle. Keep it; its late answer to this request is ignored.
        if (!this.answered && pending.host === null) {
          pending.done();
          return;
        }
        // A worker stuck in execFileSync cannot be asked to stop; kill it and its nvidia-smi, and
        // answer once it is reaped so "killed" in the health report is true when it is read.
        // Start the replacement now, so its cold start (seconds on a loaded host) is not paid
        // inside the next collection's deadline, which would time out again, forever.
        void this.kill().then(() => {
          pending.done();
          this.prewarm();
        });
      }, Math.max(0, deadline - Date.now()));

      try {
        const child = this.ensureStarted();
        const request: TWorkerRequest = { type: 'collect', id: pending.id };
        child.send(request, (error) => {
          if (error) this.failPending(`could not send to the systeminformation worker: ${error.message}`);
        });
      } catch (error) {
        this.failPending(`could not start the systeminformation worker: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  private prewarm(): void {
    try {
      this.ensureStarted();
    } catch {
      // Reported by the next collection, which tries again.
    }
  }

  /** Kills the worker; a collection in flight answers at once with what it has (agent shutdown). */
  close(): Promise<void> {
    this.failPending('collector closed');
    return this.kill();
  }

  private ensureStarted(): ChildProcess {
    if (this.child) return this.child;
    this.stderrTail = '';
    this.answered = false;
    const launch = this.options.launch ?? defaultWorkerLaunch();
    const child = fork(launch.entry, [], {
      execPath: process.execPath,
      execArgv: launch.execArgv,
      env: { ...this.options.env, ...launch.env },
      // Own process group, so a timeout can kill the worker together with its nvidia-smi.
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    this.untrack = child.pid === undefined ? () => {} : trackProcessGroup(child.pid);
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    child.on('message', (message: unknown) => this.onMessage(message as TWorkerMessage));
    child.on('error', (error) => {
      if (this.child === child) this.forget();
      this.failPending(`systeminformation worker error: ${error.message}`);
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.forget();
      const stderr = this.stderrTail.trim();
      this.failPending(`systeminformation worker exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr}` : ''}`);
    });
    // The agent must be able to exit while the worker idles between collections.
    child.unref();
    (child.channel as { unref?: () => void } | null | undefined)?.unref?.();
    return child;
  }

  private onMessage(message: TWorkerMessage): void {
    this.answered = true;
    const pending = this.pending;
    if (!pending || pending.timedOut || message.id !== pending.id) return;
    if (message.type === 'host') {
      pending.host = message.ok ? { status: 'ok', metrics: message.host } : { status: 'failed', message: message.error };
    } else if (message.status === 'ok') {
      pending.inventory = { status: 'ok', controllers: message.controllers };
    } else if (message.status === 'no-lspci') {
      pending.inventory = { status: 'no-lspci', message: `lspci not found on PATH (${message.searchedPath || 'empty'})` };
    } else {
      pending.inventory = { status: 'failed', message: message.error };
    }
    if (pending.host && pending.inventory) pending.done();
  }

  private failPending(message: string): void {
    const pending = this.pending;
    if (!pending || pending.timedOut) return;
    pending.host ??= { status: 'failed', message };
    pending.inventory ??= { status: 'failed', message };
    pending.done();
  }

  private kill(): Promise<void> {
    const child = this.child;
    if (!child) return Promise.resolve();
    this.forget();
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      // SIGKILL cannot be ignored, but do not let a reaping hiccup hold a collection. This timer
      // stays ref'd on purpose: the child is unref'd, and without it a caller awaiting close()
      // at the end of a script would see the event loop empty before the exit arrives.
      const fallback = setTimeout(resolve, 1000);
      child.once('exit', () => {
        clearTimeout(fallback);
        resolve();
      });
    });
    killProcessGroup(child.pid);
    return exited;
  }

  private forget(): void {
    this.untrack();
    this.untrack = () => {};
    this.child = null;
  }
}
