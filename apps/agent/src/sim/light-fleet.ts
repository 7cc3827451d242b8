/**
 * Many simulated nodes in one process: each is the agent's own Agent (enrollment, on-disk spool,
 * sender, smoke-job long poll) with a simulated collector instead of nvidia-smi and the
 * systeminformation child. One OS process per node (the default fleet:sim) saturates a small
 * machine at a few dozen nodes; this carries a thousand.
 */
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Spool } from '@coolant/telemetry';
import { Agent, FatalAgentError, type TLogger } from '../agent';
import type { TAgentConfig } from '../config';
import type { TSimProfile } from '../../../../scripts/fleet-sim/gpu-model.mjs';
import { createSimCollector, type TSimGpuLoadHook } from './sim-collector';

export type TLightFleetOptions = {
  server: string;
  enrollToken: string;
  nodes: number;
  gpus: number;
  intervalSeconds: number;
  /** Nodes 0..hot-1 run ≥ 85 °C (alerts); the last `flaky` lose a GPU now and then. */
  hot: number;
  flaky: number;
  prefix: string;
  /** Each node's state (node.json, spool/) lives in <stateDir>/<hostname>. */
  stateDir: string;
  /** Nodes 0..jobNodes-1 long-poll for smoke jobs, as every real agent does; the rest only report. Default all. */
  jobNodes?: number;
  /** fsync every spool write, as the real agent does. Default true. */
  durable?: boolean;
  /** Called for every warning and error of a node, prefixed with its hostname; info is dropped unless verbose. */
  log: (line: string) => void;
  verbose?: boolean;
  /**
   * An in-process driver of the GPUs (the launch simulation): node i's hook decides each GPU's
   * utilization and temperature (sim-collector.ts, TSimGpuLoad). Default: the GPU model alone.
   */
  gpuLoad?: (nodeIndex: number) => TSimGpuLoadHook | undefined;
};

export type TSimNodeHandle = {
  hostname: string;
  stateDir: string;
  profile: TSimProfile;
  agent: Agent;
  /** The node loses power: its loops stop now and it reports no more (the rest of the fleet runs on). */
  powerOff(): void;
};

export type TNodeResult = {
  hostname: string;
  collected: number;
  delivered: number;
  leftInSpool: number;
  error: string | null;
};

export type TLightFleet = {
  nodes: TSimNodeHandle[];
  /** Samples delivered by all nodes so far (what the console has stored). */
  delivered(): number;
  collected(): number;
  /** Nodes whose agent stopped on its own (a fatal error such as a revoked token). */
  failed(): { hostname: string; error: string }[];
  /**
   * Stops every node; with drain, each then sends what its spool still holds (the last samples
   * may have been mid-flight) and says what is left on disk.
   */
  stop(options?: { drain?: boolean; timeoutMs?: number }): Promise<TNodeResult[]>;
};

export function profileOf(i: number, o: Pick<TLightFleetOptions, 'nodes' | 'hot' | 'flaky'>): TSimProfile {
  return i < o.hot ? 'hot' : i >= o.nodes - o.flaky ? 'flaky' : 'normal';
}

export function startLightFleet(o: TLightFleetOptions): TLightFleet {
  const controller = new AbortController();
  // Every node's loops listen on this one signal.
  setMaxListeners(0, controller.signal);
  const failures = new Map<string, string>();
  const enrolling = limiter(ENROLL_CONCURRENCY);
  const nodes: (TSimNodeHandle & { config: TAgentConfig; done: Promise<void> })[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const hostname = `${o.prefix}-${String(i + 1).padStart(o.nodes >= 1000 ? 4 : 3, '0')}`;
    const profile = profileOf(i, o);
    const config: TAgentConfig = {
      server: o.server,
      enrollToken: o.enrollToken,
      stateDir: join(o.stateDir, hostname),
      intervalSeconds: o.intervalSeconds,
      once: false,
      hostname,
    };
    const log = nodeLogger(hostname, o);
    const gpuLoad = o.gpuLoad?.(i);
    const deps = {
      collector: createSimCollector({ seed: i, gpus: o.gpus, profile, hostname, ...(gpuLoad ? { gpuLoad } : {}) }),
      spoolDurable: o.durable ?? true,
      drawInProcess: true,
      smokeJobs: i < (o.jobNodes ?? o.nodes),
    };
    const agent = new Agent(config, log, deps);
    // Its own switch, so one node can go dark while the others keep reporting.
    const power = new AbortController();
    const signal = AbortSignal.any([controller.signal, power.signal]);
    setMaxListeners(0, signal);
    // Spread over one interval, so a thousand nodes do not report in one burst; enrolled a few at a
    // time first (a fleet is installed host by host, not all in one second).
    const delay = (i / o.nodes) * o.intervalSeconds * 1000;
    const done = Promise.all([pause(delay, signal), enrolling(() => enrollWithRetry(agent, signal, log))])
      .then(() => runUntilFatal(agent, signal, log))
      .catch((error: unknown) => {
        if (signal.aborted) return;
        const message = (error as Error).message;
        failures.set(hostname, message);
        log.error(`stopped: ${message}`);
      });
    const powerOff = () => power.abort();
    nodes.push({ hostname, stateDir: config.stateDir, profile, agent, powerOff, config, done });
  }
  const sum = (key: 'delivered' | 'collected') => nodes.reduce((s, n) => s + n.agent.stats[key], 0);

  return {
    nodes,
    delivered: () => sum('delivered'),
    collected: () => sum('collected'),
    failed: () => [...failures].map(([hostname, error]) => ({ hostname, error })),
    async stop({ drain = false, timeoutMs = 30_000 } = {}) {
      controller.abort();
      await Promise.all(nodes.map((n) => n.done));
      const deadline = AbortSignal.timeout(timeoutMs);
      return Promise.all(
        nodes.map(async (n): Promise<TNodeResult> => {
          let error = failures.get(n.hostname) ?? null;
          let delivered = n.agent.stats.delivered;
          // A node that never enrolled has nothing the console could take.
          if (drain && !error && existsSync(join(n.stateDir, 'node.json'))) {
            // A fresh Agent on the same state dir: it reads the saved node token and the spool.
            const finisher = new Agent(n.config, nodeLogger(n.hostname, o), { spoolDurable: o.durable ?? true });
            try {
              // Asked again until the deadline: a thousand nodes draining at once can time out a few requests.
              for (;;) {
                try {
                  if (!(await finisher.drain(deadline))) error = 'the console did not take every sample';
                  break;
                } catch (e) {
                  if (e instanceof FatalAgentError || deadline.aborted) throw e;
                  await pause(500, deadline);
                }
              }
            } catch (e) {
              error = (e as Error).message;
            } finally {
              await finisher.close();
            }
            delivered += finisher.stats.delivered;
          }
          if (!existsSync(join(n.stateDir, 'spool')))
            return { hostname: n.hostname, collected: 0, delivered, leftInSpool: 0, error: error ?? 'never enrolled' };
          const spool = await Spool.open({ dir: join(n.stateDir, 'spool'), durable: o.durable ?? true });
          const leftInSpool = spool.stats().records;
          await spool.close();
          return { hostname: n.hostname, collected: n.agent.stats.collected, delivered, leftInSpool, error };
        }),
      );
    },
  };
}

/**
 * Enrollments in flight at once. 1,000 at once made the console answer agent.enroll after 3 to 27 s
 * (p50, measured on the 2-core machine) and held up every report behind them.
 */
const ENROLL_CONCURRENCY = 8;

function limiter(max: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((res) => waiting.push(res));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((res) => {
    if (signal.aborted) return res();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      res();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Enrolls (or reads the saved token); a console that does not answer yet is asked again. */
async function enrollWithRetry(agent: Agent, signal: AbortSignal, log: TLogger): Promise<void> {
  for (let wait = 1_000; !signal.aborted; wait = Math.min(wait * 2, 30_000)) {
    try {
      await agent.enroll(signal);
      return;
    } catch (error) {
      if (error instanceof FatalAgentError || signal.aborted) throw error;
      log.warn(`enrollment failed (${(error as Error).message}); again in ${wait / 1000} s`);
      await pause(wait, signal);
    }
  }
}

/**
 * What systemd's Restart=on-failure does for a real agent: run() gives up on an error it cannot
 * ride out inside (enrollment while the console does not answer), and is started again after a
 * pause. A FatalAgentError (token refused) stops the node for good, as it stops a real agent.
 */
async function runUntilFatal(agent: Agent, signal: AbortSignal, log: TLogger): Promise<void> {
  let wait = 1_000;
  while (!signal.aborted) {
    try {
      await agent.run(signal);
      return;
    } catch (error) {
      if (error instanceof FatalAgentError || signal.aborted) throw error;
      log.warn(`agent stopped (${(error as Error).message}); starting it again in about ${wait / 1000} s`);
      await pause(wait * (0.5 + Math.random()), signal);
      wait = Math.min(wait * 2, 30_000);
    }
  }
}

function nodeLogger(hostname: string, o: Pick<TLightFleetOptions, 'log' | 'verbose'>): TLogger {
  return {
    info: (m) => (o.verbose ? o.log(`[${hostname}] ${m}`) : undefined),
    warn: (m) => o.log(`[${hostname}] ${m}`),
    error: (m) => o.log(`[${hostname}] ${m}`),
  };
}
