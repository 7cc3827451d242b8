import { hostname, release, type } from 'node:os';
import { createApiClient, errorCode, type TApiClient } from './api-client';
import type { TAgentConfig } from './config';
import { AgentState, type TIdentity } from './state';
import { AGENT_VERSION } from './version';

export type TLogger = { info(msg: string): void; warn(msg: string): void; error(msg: string): void };

const REQUEST_TIMEOUT_MS = 10_000;

export class FatalAgentError extends Error {
  override name = 'FatalAgentError';
}

/** Jitter keeps a fleet restarted at once from reporting in lockstep. */
export function jittered(seconds: number, random = Math.random): number {
  return seconds * 1000 * (0.9 + 0.2 * random());
}

export class Agent {
  private identity: TIdentity | null = null;
  private readonly state: AgentState;
  private readonly api: TApiClient;
  private seq = 0;

  constructor(
    private readonly config: TAgentConfig,
    private readonly log: TLogger,
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
        { enrollToken: this.config.enrollToken, hostname: hostname(), agentVersion: AGENT_VERSION, os: `${type()} ${release()}` },
        { signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) },
      );
      const identity = { server: this.config.server, nodeId: res.nodeId, nodeToken: res.nodeToken };
      this.state.saveIdentity(identity);
      this.log.info(`enrolled as node ${res.nodeId}`);
      return identity;
    } catch (error) {
      if (errorCode(error) === 'UNAUTHORIZED') throw new FatalAgentError(`enrollment refused: ${(error as Error).message}`);
      throw error;
    }
  }

  /** One cycle: make sure we are enrolled, then report. */
  async cycle(signal: AbortSignal): Promise<void> {
    this.identity ??= await this.enroll(signal);
    this.seq += 1;
    try {
      const res = await this.api.agent.report.mutate(
        { seq: this.seq, agentVersion: AGENT_VERSION, sentAt: new Date().toISOString() },
        { signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) },
      );
      if (res.duplicate) this.log.warn(`report ${this.seq} was a duplicate`);
    } catch (error) {
      if (errorCode(error) === 'UNAUTHORIZED') {
        throw new FatalAgentError(`the console no longer accepts this node's token (${(error as Error).message}); an admin revoked it, or enroll again by deleting ${this.state.dir}/node.json`);
      }
      throw error;
    }
  }

  /** Runs until the signal aborts (SIGTERM) or, with --once, after one cycle. */
  async run(signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        await this.cycle(signal);
        if (this.config.once) return;
      } catch (error) {
        if (error instanceof FatalAgentError || signal.aborted) throw error;
        if (this.config.once) throw error;
        this.log.warn(`cycle failed: ${(error as Error).message}`);
      }
      await sleep(jittered(this.config.intervalSeconds), signal);
      if (signal.aborted) return;
    }
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
