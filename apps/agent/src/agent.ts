import { release, type } from 'node:os';
import { join } from 'node:path';
import { generate, generateInWorker } from '@coolant/generator';
import { createCollector, Spool, type TCollector, type TCollectorOptions } from '@coolant/telemetry';
import { createApiClient, errorCode, type TApiClient } from './api-client';
import { NotRetryableError, SpoolSender } from './deliver';
import { childEnv } from './child-env';
import type { TAgentConfig } from './config';
import { packaging, selfLaunch } from './packaging';
import { reportRequest } from './report-request';
import { AgentState, type TIdentity } from './state';
import { AGENT_VERSION } from './version';

export type TLogger = { info(msg: string): void; warn(msg: string): void; error(msg: string): void };

const REQUEST_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

export class FatalAgentError extends Error {
  override name = 'FatalAgentError';
}

/** Jitter keeps a fleet restarted at once from reporting in lockstep. */
export function jittered(seconds: number, random = Math.random): number {
  return seconds * 1000 * (0.9 + 0.2 * random());
}

/** A collection may use most of an interval, never more than 10 s: a hung nvidia-smi must not stop the rhythm. */
export function collectTimeoutMs(intervalSeconds: number): number {
  return Math.max(1_000, Math.min(10_000, intervalSeconds * 800));
}

/**
 * The collector an agent samples with (nvidia-smi, the PCI inventory in a child of this same
 * program, host metrics); `coolant-agent probe` collects with this one too.
 */
export function createAgentCollector(
  env: NodeJS.ProcessEnv,
  overrides: Pick<TCollectorOptions, 'hostFiles'> = {},
): TCollector {
  return createCollector({ ...overrides, env: childEnv(env), workerLaunch: selfLaunch('collector') ?? undefined });
}

/**
 * What a caller other than main.ts may swap in, so many agents can run in one process (the light
 * fleet simulation, apps/agent/src/sim/): each keeps its own spool, sender and job loop.
 */
export type TAgentDeps = {
  /** Instead of the real collector (nvidia-smi plus the systeminformation child). Closed with the agent. */
  collector?: TCollector;
  /** Passed to the spool (default true: fsync every record and state write). */
  spoolDurable?: boolean;
  /** Draw smoke jobs on this thread, as a packaged agent does, instead of a worker per job. */
  drawInProcess?: boolean;
  /** false: no smoke-job long poll (a simulated node that only reports). Default true. */
  smokeJobs?: boolean;
};

/**
 * Two loops: the sampler collects on its rhythm and appends to the on-disk
 * spool whatever happens to the network; the sender drains the spool, oldest
 * first, and drops a sample only once the console has stored it.
 */
export class Agent {
  private identity: TIdentity | null = null;
  private readonly state: AgentState;
  private readonly api: TApiClient;
  private collector: TCollector | null = null;
  private spool: Spool | null = null;
  private spoolOpening: Promise<Spool> | null = null;
  private wakeSender: (() => void) | null = null;
  private sender: SpoolSender | null = null;
  private lastCollectorErrors = '';
  private sending: Promise<void> | null = null;
  readonly stats = { collected: 0, delivered: 0, quarantined: 0, sendFailures: 0, lastError: null as string | null };

  constructor(
    private readonly config: TAgentConfig,
    private readonly log: TLogger,
    private readonly deps: TAgentDeps = {},
  ) {
    this.state = new AgentState(config.stateDir);
    this.api = createApiClient(config.server, () => this.identity?.nodeToken ?? null);
  }

  async enroll(signal: AbortSignal): Promise<TIdentity> {
    const existing = this.state.loadIdentity(this.config.server);
    if (existing) return existing;
    if (!this.config.enrollToken) {
      throw new FatalAgentError(`not enrolled with ${this.config.server} and no --enroll-token given`);
    }
    try {
      const res = await this.api.agent.enroll.mutate(
        {
          enrollToken: this.config.enrollToken,
          hostname: this.config.hostname,
          agentVersion: AGENT_VERSION,
          os: `${type()} ${release()}`,
          enrollKey: this.state.enrollKey(),
        },
        { signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) },
      );
      const identity = { server: this.config.server, nodeId: res.nodeId, nodeToken: res.nodeToken };
      this.state.saveIdentity(identity);
      this.log.info(`enrolled as node ${res.nodeId}`);
      return identity;
    } catch (error) {
      if (errorCode(error) === 'UNAUTHORIZED')
        throw new FatalAgentError(`enrollment refused: ${(error as Error).message}`);
      throw error;
    }
  }

  private async open(): Promise<{ collector: TCollector; spool: Spool }> {
    // The sampler and the sender both get here first thing: open the spool once.
    this.spoolOpening ??= Spool.open({ dir: join(this.config.stateDir, 'spool'), durable: this.deps.spoolDurable });
    this.spool ??= await this.spoolOpening;
    this.collector ??= this.deps.collector ?? createAgentCollector(process.env);
    return { collector: this.collector, spool: this.spool };
  }

  /** One sample into the spool. Never touches the network. */
  async sampleOnce(): Promise<void> {
    const { collector, spool } = await this.open();
    const sample = await collector.collect({ timeoutMs: collectTimeoutMs(this.config.intervalSeconds) });
    const stored = await spool.append(sample);
    this.stats.collected++;
    // Said once when it changes, not every cycle: a host without nvidia-smi stays that way.
    const errors = sample.health.errors.join('; ');
    if (errors !== this.lastCollectorErrors) {
      if (errors) this.log.warn(`collector: ${errors}`);
      else if (this.lastCollectorErrors) this.log.info('collector: healthy again');
      this.lastCollectorErrors = errors;
    }
    if (stored.spoolDropped > 0 && this.stats.collected === 1)
      this.log.warn(`spool has dropped ${stored.spoolDropped} samples so far`);
  }

  /** Sends everything spooled; returns true when the spool is empty. */
  async drain(signal: AbortSignal): Promise<boolean> {
    const { spool } = await this.open();
    this.identity ??= await this.enroll(signal);
    const timeout = () => AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]);
    this.sender ??= new SpoolSender(
      spool,
      (samples) =>
        this.api.agent.report.mutate(reportRequest({ intervalSeconds: this.config.intervalSeconds, samples }), {
          signal: timeout(),
        }),
      this.log,
      this.stats,
    );
    try {
      await this.sender.confirm(async () => {
        try {
          return (await this.api.agent.sequence.query(undefined, { signal: timeout() })).acceptedUpTo;
        } catch (error) {
          // A console older than agent.sequence: number on as before.
          if (errorCode(error) !== 'NOT_FOUND') throw error;
          this.log.warn(
            'the console cannot say which samples it has (agent.sequence missing); numbering continues from the spool',
          );
          return 0;
        }
      });
      return await this.sender.drain();
    } catch (error) {
      if (errorCode(error instanceof NotRetryableError ? error.cause : error) === 'UNAUTHORIZED') {
        throw new FatalAgentError(
          `the console no longer accepts this node's token (${(error as Error).message}); an admin revoked it, or enroll again by deleting ${this.state.dir}/node.json`,
        );
      }
      // The samples stay in the spool for an agent or console that can deliver them.
      if (error instanceof NotRetryableError)
        throw new FatalAgentError(`${error.message}; the samples stay in ${this.state.dir}/spool`, { cause: error });
      throw error;
    }
  }

  private async senderLoop(signal: AbortSignal): Promise<void> {
    let backoff = 1_000;
    while (!signal.aborted) {
      let empty: boolean;
      try {
        empty = await this.drain(signal);
        backoff = 1_000;
      } catch (error) {
        if (error instanceof FatalAgentError || signal.aborted) throw error;
        this.stats.sendFailures++;
        const message = (error as Error).message;
        if (message !== this.stats.lastError)
          this.log.warn(`console unreachable, keeping samples in the spool: ${message}`);
        this.stats.lastError = message;
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      if (this.stats.lastError) {
        this.log.info('console reachable again; spool drained');
        this.stats.lastError = null;
      }
      if (empty) {
        await new Promise<void>((res) => {
          const done = () => {
            signal.removeEventListener('abort', done);
            res();
          };
          this.wakeSender = done;
          signal.addEventListener('abort', done, { once: true });
        });
      }
      this.wakeSender = null;
    }
  }

  /**
   * Smoke jobs: long-poll the console, draw the job with the reference
   * generator on a worker thread, stream rows every 100 ms, report the result.
   */
  private async jobLoop(signal: AbortSignal): Promise<void> {
    let backoff = 1_000;
    while (!signal.aborted) {
      let job;
      try {
        ({ job } = await this.api.agent.nextJob.mutate(
          { waitMs: 20_000 },
          { signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) },
        ));
        backoff = 1_000;
      } catch (error) {
        if (signal.aborted) return;
        if (errorCode(error) === 'UNAUTHORIZED') return; // the sender reports it and stops the agent
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      if (job) await this.runJob(job, signal);
    }
  }

  async runJob(
    job: { id: string; prompt: string; seed: number; width: number; height: number; timeoutMs: number },
    signal: AbortSignal,
  ): Promise<void> {
    this.log.info(`smoke job ${job.id}: "${job.prompt}" seed ${job.seed}, ${job.width}x${job.height}`);
    let rows: { y: number; data: string }[] = [];
    let sending = Promise.resolve();
    const send = (
      extra: {
        done?: { checksum: string; modelVersion: string; firstRowMs: number; totalMs: number };
        error?: string;
      } = {},
    ) => {
      const batch = rows;
      rows = [];
      sending = sending.then(async () => {
        await this.api.agent.jobResult.mutate(
          { jobId: job.id, rows: batch, ...extra },
          { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
        );
      });
      return sending;
    };
    const tick = setInterval(() => void send().catch(() => {}), 100);
    try {
      const request = { prompt: job.prompt, seed: job.seed, width: job.width, height: job.height };
      const onRow = (y: number, row: Uint8Array) => void rows.push({ y, data: Buffer.from(row).toString('base64') });
      // From source the generator runs on a worker thread; a packaged agent has no worker file beside
      // it and draws in-process (milliseconds for a smoke-test picture; nothing else waits on it).
      const result =
        packaging() === 'source' && !this.deps.drawInProcess
          ? await generateInWorker(request, { timeoutMs: job.timeoutMs, signal, onRow })
          : generate(request, onRow);
      clearInterval(tick);
      await sending.catch(() => {});
      await send({
        done: {
          checksum: result.checksum,
          modelVersion: result.modelVersion,
          firstRowMs: result.timings.firstRowMs,
          totalMs: result.timings.totalMs,
        },
      });
      this.log.info(
        `smoke job ${job.id}: ${result.width * result.height} px in ${result.timings.totalMs.toFixed(0)} ms, checksum ${result.checksum.slice(0, 12)}…`,
      );
    } catch (error) {
      clearInterval(tick);
      await sending.catch(() => {});
      await send({ error: (error as Error).message }).catch((e: Error) =>
        this.log.warn(`could not report smoke job failure: ${e.message}`),
      );
    }
  }

  /** Runs until the signal aborts (SIGTERM) or, with --once, after one cycle. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      if (this.config.once) {
        this.identity ??= await this.enroll(signal);
        await this.sampleOnce();
        if (!(await this.drain(signal))) throw new Error('the console did not take every sample');
        return;
      }
      this.identity ??= await this.enroll(signal);
      // One signal for the three loops: SIGTERM, or a fatal error in any of them, stops all.
      const inner = new AbortController();
      const onAbort = () => inner.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      let fatal: unknown = null;
      this.sending = this.senderLoop(inner.signal).catch((e: unknown) => {
        fatal = e;
        inner.abort();
      });
      const jobs = (this.deps.smokeJobs === false ? Promise.resolve() : this.jobLoop(inner.signal)).catch((e: Error) =>
        this.log.error(`smoke jobs stopped: ${e.message}`),
      );
      while (!inner.signal.aborted) {
        const started = Date.now();
        try {
          await this.sampleOnce();
          this.wakeSender?.();
        } catch (error) {
          this.log.error(`sampling failed: ${(error as Error).message}`);
        }
        await sleep(Math.max(0, jittered(this.config.intervalSeconds) - (Date.now() - started)), inner.signal);
      }
      signal.removeEventListener('abort', onAbort);
      await this.sending;
      await jobs;
      if (fatal) throw fatal;
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.collector?.close().catch(() => {});
    this.collector = null;
    await this.spool?.close();
    this.spool = null;
    this.sender = null;
    this.spoolOpening = null;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal.aborted) return res();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      res();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
