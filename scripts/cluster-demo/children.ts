// The demo's child processes (consoles, nginx, the fleet) and the one way they all stop: each
// one's output prefixed with its name, each in its own process group so Ctrl-C reaches only the
// demo, which stops them in order, and a straggler dies with everything it started (next server,
// agents). Whatever ends the demo (short of SIGKILL), no console, agent or nginx outlives it.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

export type TChild = {
  name: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  lastLines: string[];
  /** Set while an exit is expected (nginx until it answers): it does not stop the demo. */
  expectExit?: boolean;
};

/** Output lines for which `match(line)` is true go to `write` instead of the terminal. */
export type TRoute = { match: (line: string) => boolean; write: (text: string) => void };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const running = (entry: TChild) => entry.child.exitCode === null && entry.child.signalCode === null;

/** The child and whatever it started (its process group). */
export function killGroup(entry: TChild, signal: NodeJS.Signals) {
  try {
    if (entry.child.pid) process.kill(-entry.child.pid, signal);
  } catch {
    // Already gone.
  }
}

export function createSupervisor(opts: { root: string; dbName: string }) {
  const children: TChild[] = [];
  let stopping = false;
  let exitCode = 0;
  const state = { lbUrl: null as string | null, tmp: null as string | null };

  process.on('exit', () => {
    for (const e of children) killGroup(e, 'SIGKILL');
  });

  async function shutdown(code = 0, why = '') {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    console.log(`\ncluster:demo: stopping${why ? ` (${why})` : ''}: fleet, nginx, consoles…`);
    // The fleet first, so its agents do not log errors about consoles going away; nginx last but
    // one, consoles last (each stops its HTTP server, background services and database pool).
    const order = ['fleet-sim', 'nginx', 'console-2', 'console-1'];
    const byOrder = [...children].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    for (const e of byOrder) {
      if (!running(e)) continue;
      // nginx: SIGQUIT is its graceful stop (finish the requests in flight, then exit).
      e.child.kill(e.name === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
      const done = await Promise.race([
        e.exited.then(() => true),
        sleep(e.name.startsWith('console') ? 15_000 : 8_000).then(() => false),
      ]);
      if (!done) {
        console.error(`cluster:demo: ${e.name} did not stop in time; killing it`);
        killGroup(e, 'SIGKILL');
        await e.exited;
      }
      // Whatever it started and left behind (an agent's collector child, say) goes with it.
      killGroup(e, 'SIGKILL');
    }
    if (state.tmp) rmSync(state.tmp, { recursive: true, force: true });
    console.log(`cluster:demo: stopped. The database ${opts.dbName} is kept (the next run recreates it).`);
    process.exit(exitCode);
  }

  function startChild(
    name: string,
    command: string,
    args: string[],
    options: SpawnOptions = {},
    route: TRoute | null = null,
  ): TChild {
    const child = spawn(command, args, {
      cwd: opts.root,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...options,
    });
    const entry: TChild = {
      name,
      child,
      exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))),
      lastLines: [],
    };
    const echo = (stream: NodeJS.ReadableStream | null, write: (line: string) => void) => {
      if (!stream) return;
      createInterface({ input: stream }).on('line', (line) => {
        entry.lastLines.push(line);
        if (entry.lastLines.length > 30) entry.lastLines.shift();
        if (route?.match(line)) route.write(`${line}\n`);
        else write(`[${name}] ${line}`);
      });
    };
    echo(child.stdout, console.log);
    echo(child.stderr, console.error);
    child.on('error', (error) => console.error(`[${name}] ${error.message}`));
    child.once('exit', (code, signal) => {
      if (stopping || entry.expectExit) return;
      const how = signal ?? `exit ${code}`;
      // Stopping one instance is part of the demo: nginx sends everything to the other one.
      const consolesLeft = children.filter((e) => e.name.startsWith('console-') && running(e)).length;
      if (name.startsWith('console-') && consolesLeft > 0) {
        console.log(
          `cluster:demo: ${name} stopped (${how}); ${consolesLeft} instance left${state.lbUrl ? `, ${state.lbUrl} still answers through it` : ''}`,
        );
        return;
      }
      console.error(`cluster:demo: ${name} exited (${how}); stopping everything`);
      void shutdown(1);
    });
    children.push(entry);
    return entry;
  }

  let interrupts = 0;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      // A second Ctrl-C does not wait for anyone.
      if (++interrupts > 1) process.exit(130);
      void shutdown(0, sig);
    });
  }

  return {
    startChild,
    shutdown,
    state,
    /** Raises the final exit status without stopping anything (a failed --check). */
    fail: () => {
      exitCode = Math.max(exitCode, 1);
    },
    exitCode: () => exitCode,
  };
}

export type TSupervisor = ReturnType<typeof createSupervisor>;
