/**
 * Delivery of the spool to the console, and what each kind of failure means for the samples.
 *
 * A sample leaves the spool only when the console has it (acceptedUpTo) or has refused it on its
 * own, alone in a report (then it is quarantined: kept in the state dir, counted, the count carried
 * in every later sample's health). Nothing is retried unchanged forever: a refused batch is split
 * until the refusal names one sample; a request the console will never take stops the agent.
 *
 * Why the agent bisects instead of the console accepting the good samples of a batch and listing
 * the rejected ones: the console's contract stays "a report is stored whole or refused whole",
 * which its duplicate detection (one lastSeq per node, advanced by one conditional update) relies
 * on; the same splitting handles a body too large for the console or a proxy in front of it (413,
 * or today a reset connection), which per-sample answers cannot; and the console would need a
 * schema change to show rejections it alone knew of. A bad sample costs log2(batch) extra reports,
 * and only when something is already wrong.
 */
import type { Spool, TTelemetrySample } from '@coolant/telemetry';
import { connectionReset, errorCode, httpStatus, issuePaths } from './api-client';

export const MAX_BATCH_SAMPLES = 100;
/** Well under the console's 8 MiB agent.report body cap, so a batch never meets it. */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** A 413 never shrinks batches below this; a smaller one goes out alone. */
const MIN_BATCH_BYTES = 16 * 1024;

export type TLog = { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
export type TReportAnswer = { acceptedUpTo: number; accepted: number };

/** The console refuses this agent's requests as such (not one sample): sending again cannot help. */
export class NotRetryableError extends Error {
  override name = 'NotRetryableError';
}

export type TFailure =
  | { kind: 'retry' }
  | { kind: 'fatal'; message: string }
  /** definite: a 413; otherwise a reset connection, which may be a size cap or just the network. */
  | { kind: 'too-large'; definite: boolean }
  | { kind: 'refused'; message: string };

/** Statuses that mean "later", not "never". */
const RETRYABLE = new Set([408, 409, 425, 429]);

export function classifyReportFailure(error: unknown): TFailure {
  const message = (error as Error).message;
  const code = errorCode(error);
  const status = httpStatus(error);
  if (code === 'UNAUTHORIZED' || status === 401)
    return { kind: 'fatal', message: `the console no longer accepts this node's token (${message})` };
  if (code === 'PAYLOAD_TOO_LARGE' || status === 413) return { kind: 'too-large', definite: true };
  if (code === 'BAD_REQUEST' || status === 400) {
    // An input error outside `samples` is about the request itself: every sample would be refused.
    const paths = issuePaths(error);
    if (paths.length > 0 && !paths.some((p) => p === 'samples' || p.startsWith('samples.')))
      return { kind: 'fatal', message: `the console refuses this agent's reports: ${message}` };
    return { kind: 'refused', message };
  }
  if (status !== null && status >= 400 && status < 500 && !RETRYABLE.has(status)) {
    return {
      kind: 'fatal',
      message: `the console answered HTTP ${status} to a report (${message}); check --server and that agent and console versions match`,
    };
  }
  if (status === null && connectionReset(error)) return { kind: 'too-large', definite: false };
  return { kind: 'retry' };
}

export class SpoolSender {
  /** Lowered when the console (or a proxy) answers 413; back to the default at the next start. */
  private batchBytes: number;

  constructor(
    private readonly spool: Spool,
    private readonly report: (batch: TTelemetrySample[]) => Promise<TReportAnswer>,
    private readonly log: TLog,
    private readonly stats: { delivered: number; quarantined: number },
    opts: { maxBatchBytes?: number } = {},
  ) {
    this.batchBytes = opts.maxBatchBytes ?? MAX_BATCH_BYTES;
  }

  /** A spool that lost its state learns where the console stands before anything is acknowledged. */
  async confirm(acceptedUpTo: () => Promise<number>): Promise<void> {
    if (!this.spool.stats().unconfirmed) return;
    const upTo = await acceptedUpTo();
    const result = await this.spool.reconcile(upTo);
    if (result.renumbered > 0)
      this.log.warn(
        `spool state was lost: ${result.renumbered} samples renumbered above ${upTo}, the last sequence the console has stored`,
      );
  }

  /** Sends everything spooled, oldest first; true when the spool is empty. Throws what should be retried later. */
  async drain(): Promise<boolean> {
    for (;;) {
      const batch = await this.spool.peek(MAX_BATCH_SAMPLES, this.batchBytes);
      if (batch.length === 0) return true;
      if (!(await this.deliver(batch))) return false;
    }
  }

  /** True when every sample of the batch was stored or quarantined. */
  private async deliver(batch: TTelemetrySample[]): Promise<boolean> {
    let answer: TReportAnswer;
    try {
      answer = await this.report(batch);
    } catch (error) {
      const failure = classifyReportFailure(error);
      if (failure.kind === 'fatal') throw new NotRetryableError(failure.message, { cause: error });
      if (failure.kind === 'retry') throw error;
      if (batch.length === 1) {
        // A reset may be the network: only an explicit refusal condemns a lone sample.
        if (failure.kind === 'too-large' && !failure.definite) throw error;
        const reason =
          failure.kind === 'refused' ? failure.message : `too large for the console (HTTP 413, ${bytes(batch)} bytes)`;
        await this.spool.quarantine(batch[0]!.seq, reason);
        this.stats.quarantined++;
        this.log.error(
          `console refused sample ${batch[0]!.seq} on its own (${reason}); quarantined in the spool's quarantine/ directory`,
        );
        return true;
      }
      if (failure.kind === 'too-large' && failure.definite)
        this.batchBytes = Math.max(MIN_BATCH_BYTES, Math.floor(bytes(batch) / 2));
      // Halves in order: the console takes a seq only above the last it stored.
      const half = Math.ceil(batch.length / 2);
      return (await this.deliver(batch.slice(0, half))) && (await this.deliver(batch.slice(half)));
    }
    const last = batch[batch.length - 1]!.seq;
    if (answer.acceptedUpTo >= this.spool.stats().nextSeq) {
      // The console has seqs this spool never handed out (a state dir restored from a backup, a
      // copied token): number new samples above them, or they would all be taken for duplicates.
      await this.spool.reconcile(answer.acceptedUpTo);
      this.log.warn(
        `the console has stored up to sequence ${answer.acceptedUpTo}, beyond this spool's numbering; new samples continue above it`,
      );
    }
    await this.spool.ack(answer.acceptedUpTo);
    this.stats.delivered += answer.accepted;
    return answer.acceptedUpTo >= last;
  }
}

function bytes(batch: TTelemetrySample[]): number {
  return Buffer.byteLength(JSON.stringify(batch));
}
