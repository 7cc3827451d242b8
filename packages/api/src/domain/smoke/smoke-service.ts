import { randomBytes } from 'node:crypto';
import type { TDb } from '@coolant/db';
import {
  encodePng,
  generateInWorker,
  PALETTE,
  pictureChecksum,
  validateGenerateRequest,
  type TGenerateResult,
} from '@coolant/generator';
import type { TActor } from '../actors/actor';
import { AppError } from '../../lib/app-error';
import { recordAudit } from '../audit/record-audit';
import { nodeStatus } from '../fleet/node-status';
import { SmokeJobWaiters, type TSmokeJob } from './job-waiters';
import { actorName } from '../tokens/create-api-token';

export type TSmokeTarget = 'local' | 'all' | string;
export type TSmokeRunRequest = {
  actor: TActor;
  ip: string | null;
  target: TSmokeTarget;
  prompt: string;
  seed: number;
  size?: { width: number; height: number } | undefined;
  timeoutSeconds: number;
};
export type { TSmokeJob };
export type TJobResultRequest = {
  nodeId: string;
  jobId: string;
  rows: { y: number; data: string }[];
  done?: { checksum: string; modelVersion: string; firstRowMs: number; totalMs: number } | undefined;
  error?: string | undefined;
};

const SWEEP_MS = 1_000;
/** How often the shared tick looks for jobs queued by another instance while polls wait. */
const TICK_MS = 250;
/** A tick reads at most this many queued jobs (oldest first); offline nodes' jobs are failed by the sweep. */
const TICK_TAKE = 2_000;
const LOCAL = 'local';

const runSelect = {
  id: true,
  batchId: true,
  target: true,
  nodeId: true,
  hostname: true,
  prompt: true,
  seed: true,
  width: true,
  height: true,
  state: true,
  reason: true,
  createdBy: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  timeoutAt: true,
  rowsDone: true,
  firstRowMs: true,
  totalMs: true,
  pixelsPerSecond: true,
  checksum: true,
  modelVersion: true,
  expectedChecksum: true,
  match: true,
} as const;

/** What claiming a job needs of its row, and no more (no pixels or png). */
const jobSelect = {
  id: true,
  nodeId: true,
  prompt: true,
  seed: true,
  width: true,
  height: true,
  timeoutAt: true,
} as const;
type TJobRow = {
  id: string;
  nodeId: string | null;
  prompt: string;
  seed: bigint;
  width: number;
  height: number;
  timeoutAt: Date;
};

type TRunRow = { [K in keyof typeof runSelect]: unknown } & Record<string, unknown>;

export function shapeRun(r: TRunRow & { pixels?: Uint8Array | null; png?: Uint8Array | null }) {
  const d = (v: unknown) => (v instanceof Date ? v.toISOString() : null);
  return {
    id: r.id as string,
    batchId: r.batchId as string,
    target: r.target as string,
    nodeId: (r.nodeId as string | null) ?? null,
    hostname: (r.hostname as string | null) ?? null,
    prompt: r.prompt as string,
    seed: Number(r.seed),
    width: r.width as number,
    height: r.height as number,
    state: r.state as 'queued' | 'running' | 'passed' | 'failed',
    reason: (r.reason as string | null) ?? null,
    createdBy: r.createdBy as string,
    createdAt: d(r.createdAt)!,
    startedAt: d(r.startedAt),
    finishedAt: d(r.finishedAt),
    timeoutAt: d(r.timeoutAt)!,
    rowsDone: r.rowsDone as number,
    firstRowMs: (r.firstRowMs as number | null) ?? null,
    totalMs: (r.totalMs as number | null) ?? null,
    pixelsPerSecond: (r.pixelsPerSecond as number | null) ?? null,
    checksum: (r.checksum as string | null) ?? null,
    modelVersion: (r.modelVersion as string | null) ?? null,
    expectedChecksum: (r.expectedChecksum as string | null) ?? null,
    match: (r.match as boolean | null) ?? null,
    /** RGB of each palette index, for drawing `pixels` while the run streams. */
    palette: PALETTE.map((c) => [c[0], c[1], c[2]] as [number, number, number]),
    ...(r.pixels !== undefined ? { pixels: r.pixels ? Buffer.from(r.pixels).toString('base64') : null } : {}),
    ...(r.png !== undefined ? { png: r.png ? Buffer.from(r.png).toString('base64') : null } : {}),
  };
}

/**
 * Smoke tests: the console queues a generation for a node, the node's agent
 * takes it (long poll), draws it with the reference generator and streams the
 * rows back; the console compares the checksum with its own generation of
 * the same request. A node that draws anything else is flagged.
 */
export class SmokeService {
  private readonly references = new Map<string, Promise<TGenerateResult>>();
  private timer: NodeJS.Timeout | null = null;
  readonly waiters: SmokeJobWaiters<TJobRow & { nodeId: string }>;

  constructor(private readonly opts: { db: TDb; now: () => Date; log?: (m: string) => void; tickMs?: number }) {
    this.waiters = new SmokeJobWaiters({
      tickMs: opts.tickMs ?? TICK_MS,
      // One query for every waiting node: the queued jobs are few (claimed within a tick, or failed by the sweep).
      findQueued: async () =>
        (await opts.db.smokeRun.findMany({
          where: { state: 'queued', nodeId: { not: null } },
          orderBy: { createdAt: 'asc' },
          take: TICK_TAKE,
          select: jobSelect,
        })) as (TJobRow & {
          nodeId: string;
        })[],
      claimJob: (job) => this.claimRow(job),
      claimOldest: (nodeId) => this.claim({ nodeId }),
      unclaim: async (id) => {
        await opts.db.smokeRun.updateMany({
          where: { id, state: 'running', rowsDone: 0 },
          data: { state: 'queued', startedAt: null },
        });
      },
      log: opts.log,
    });
  }

  start(background: boolean): void {
    if (!background) return;
    this.timer = setInterval(
      () => void this.sweep().catch((e: Error) => this.opts.log?.(`smoke sweep failed: ${e.message}`)),
      SWEEP_MS,
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.waiters.stop();
  }

  /** The console's own drawing of a request: the reference every node must match. */
  private reference(prompt: string, seed: number, size?: { width: number; height: number }): Promise<TGenerateResult> {
    const key = JSON.stringify([prompt, seed, size ?? null]);
    let p = this.references.get(key);
    if (!p) {
      p = generateInWorker({ prompt, seed, ...(size ?? {}) }, { timeoutMs: 30_000 });
      p.catch(() => this.references.delete(key));
      if (this.references.size > 200) this.references.clear();
      this.references.set(key, p);
    }
    return p;
  }

  async run(req: TSmokeRunRequest) {
    const { db } = this.opts;
    const problems = validateGenerateRequest({ prompt: req.prompt, seed: req.seed, ...(req.size ?? {}) });
    if (problems.length)
      throw new AppError('BAD_REQUEST', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });
    const now = this.opts.now();
    let targets: { nodeId: string | null; hostname: string | null }[];
    if (req.target === LOCAL) targets = [{ nodeId: null, hostname: null }];
    else if (req.target === 'all') {
      const nodes = await db.node.findMany({ where: { revokedAt: null } });
      targets = nodes
        .filter((n) => nodeStatus(n, now) === 'online')
        .map((n) => ({ nodeId: n.id, hostname: n.hostname }));
      if (targets.length === 0) throw new AppError('BAD_REQUEST', 'target: no node is online');
    } else {
      const node = await db.node.findUnique({ where: { id: req.target } });
      if (!node || node.revokedAt) throw new AppError('BAD_REQUEST', `target: unknown node "${req.target}"`);
      if (nodeStatus(node, now) === 'offline')
        throw new AppError('BAD_REQUEST', `target: node ${node.hostname} is offline`);
      targets = [{ nodeId: node.id, hostname: node.hostname }];
    }
    const reference = await this.reference(req.prompt, req.seed, req.size);
    const batchId = `b_${randomBytes(6).toString('hex')}`;
    const timeoutAt = new Date(now.getTime() + req.timeoutSeconds * 1000);
    const runs = [];
    for (const t of targets) {
      runs.push(
        await db.smokeRun.create({
          data: {
            batchId,
            target: t.nodeId ?? LOCAL,
            nodeId: t.nodeId,
            hostname: t.hostname,
            prompt: req.prompt,
            seed: BigInt(req.seed),
            width: reference.width,
            height: reference.height,
            state: 'queued',
            createdBy: actorName(req.actor),
            timeoutAt,
            expectedChecksum: reference.checksum,
          },
          select: runSelect,
        }),
      );
    }
    await recordAudit({
      db,
      actor: req.actor,
      action: 'smoke.run',
      target: req.target,
      details: {
        batchId,
        prompt: req.prompt,
        seed: req.seed,
        width: reference.width,
        height: reference.height,
        runs: runs.map((r) => r.id),
      },
      ip: req.ip,
    });
    for (const r of runs) {
      if (r.nodeId) this.waiters.wake(r.nodeId);
      else void this.runLocal(r.id);
    }
    return { batchId, expectedChecksum: reference.checksum, runs: runs.map((r) => shapeRun(r)) };
  }

  /** "local": the console draws it itself, on a worker thread, streaming rows like a node would. */
  private async runLocal(id: string): Promise<void> {
    const job = await this.claim({ id });
    if (!job) return;
    const started = Date.now();
    let pending: { y: number; data: string }[] = [];
    let flushing = Promise.resolve();
    const flush = () => {
      const rows = pending;
      pending = [];
      flushing = flushing.then(() => this.applyRows(id, rows)).catch(() => {});
      return flushing;
    };
    const tick = setInterval(() => void flush(), 100);
    try {
      const result = await generateInWorker(
        { prompt: job.prompt, seed: job.seed, width: job.width, height: job.height },
        {
          timeoutMs: job.timeoutMs,
          onRow: (y, row) => void pending.push({ y, data: Buffer.from(row).toString('base64') }),
        },
      );
      clearInterval(tick);
      await flush();
      await this.finish(id, {
        checksum: result.checksum,
        modelVersion: result.modelVersion,
        firstRowMs: result.timings.firstRowMs,
        totalMs: Date.now() - started,
      });
    } catch (error) {
      clearInterval(tick);
      await flush();
      await this.fail(id, `generation failed in the console: ${(error as Error).message}`);
    }
  }

  /** Marks the oldest queued job of a node (or one job by id) running; null when there is none. */
  private async claim(where: { id: string } | { nodeId: string }): Promise<TSmokeJob | null> {
    const { db } = this.opts;
    const candidate = await db.smokeRun.findFirst({
      where: { ...where, state: 'queued' },
      orderBy: { createdAt: 'asc' },
      select: jobSelect,
    });
    return candidate ? this.claimRow(candidate) : null;
  }

  /** The conditional update is the claim: of all polls on all instances, exactly one sees count 1. */
  private async claimRow(candidate: TJobRow): Promise<TSmokeJob | null> {
    const { db } = this.opts;
    const now = this.opts.now();
    const won = await db.smokeRun.updateMany({
      where: { id: candidate.id, state: 'queued' },
      data: { state: 'running', startedAt: now },
    });
    if (won.count !== 1) return null;
    return {
      id: candidate.id,
      prompt: candidate.prompt,
      seed: Number(candidate.seed),
      width: candidate.width,
      height: candidate.height,
      timeoutMs: Math.max(1_000, candidate.timeoutAt.getTime() - now.getTime()),
    };
  }

  /** Long poll: answers as soon as a job is queued for this node, or null after waitMs. */
  async nextJob(nodeId: string, waitMs: number, signal?: AbortSignal): Promise<TSmokeJob | null> {
    const deadline = Date.now() + waitMs;
    const job = await this.claim({ nodeId });
    if (job || Date.now() >= deadline || signal?.aborted) return job;
    return this.waiters.wait(nodeId, deadline, signal);
  }

  private async applyRows(id: string, rows: { y: number; data: string }[]): Promise<void> {
    if (rows.length === 0) return;
    const { db } = this.opts;
    const run = await db.smokeRun.findUniqueOrThrow({
      where: { id },
      select: { width: true, height: true, pixels: true, rowsDone: true },
    });
    const pixels = run.pixels ? Buffer.from(run.pixels) : Buffer.alloc(run.width * run.height);
    let rowsDone = run.rowsDone;
    for (const r of rows) {
      const data = Buffer.from(r.data, 'base64');
      if (!Number.isInteger(r.y) || r.y < 0 || r.y >= run.height || data.length !== run.width) {
        throw new AppError(
          'BAD_REQUEST',
          `rows: row ${r.y} must be 0..${run.height - 1} with ${run.width} pixels, got ${data.length}`,
        );
      }
      data.copy(pixels, r.y * run.width);
      rowsDone = Math.max(rowsDone, r.y + 1);
    }
    await db.smokeRun.update({ where: { id }, data: { pixels: new Uint8Array(pixels), rowsDone } });
  }

  private async finish(id: string, done: NonNullable<TJobResultRequest['done']>): Promise<void> {
    const { db } = this.opts;
    const run = await db.smokeRun.findUniqueOrThrow({ where: { id } });
    if (run.state !== 'running') return;
    const pixels = new Uint8Array(run.pixels ?? new Uint8Array(run.width * run.height));
    // The checksum must describe the pixels that actually arrived, or the report is not trusted.
    const streamed = pictureChecksum(done.modelVersion, run.width, run.height, pixels);
    const complete = run.rowsDone === run.height;
    const match = complete && streamed === done.checksum && done.checksum === run.expectedChecksum;
    const reason = !complete
      ? `only ${run.rowsDone} of ${run.height} rows arrived`
      : streamed !== done.checksum
        ? 'the reported checksum does not match the rows that were streamed'
        : done.checksum !== run.expectedChecksum
          ? `checksum ${done.checksum.slice(0, 12)}… differs from the reference ${run.expectedChecksum?.slice(0, 12)}… (node model ${done.modelVersion.slice(0, 12)}…)`
          : null;
    const pps = done.totalMs > 0 ? (run.width * run.height) / (done.totalMs / 1000) : null;
    await db.smokeRun.updateMany({
      where: { id, state: 'running' },
      data: {
        state: match ? 'passed' : 'failed',
        reason,
        finishedAt: this.opts.now(),
        checksum: done.checksum,
        modelVersion: done.modelVersion,
        firstRowMs: done.firstRowMs,
        totalMs: done.totalMs,
        pixelsPerSecond: pps,
        match,
        png: new Uint8Array(encodePng({ width: run.width, height: run.height, pixels })),
      },
    });
  }

  private async fail(id: string, reason: string): Promise<void> {
    await this.opts.db.smokeRun.updateMany({
      where: { id, state: { in: ['queued', 'running'] } },
      data: { state: 'failed', reason, finishedAt: this.opts.now(), match: false },
    });
  }

  async jobResult(req: TJobResultRequest): Promise<{ ok: true; state: string }> {
    const run = await this.opts.db.smokeRun.findUnique({
      where: { id: req.jobId },
      select: { nodeId: true, state: true },
    });
    if (!run || run.nodeId !== req.nodeId) throw new AppError('NOT_FOUND', `jobId: no job ${req.jobId} for this node`);
    if (run.state !== 'running') throw new AppError('CONFLICT', `job ${req.jobId} is ${run.state}`);
    await this.applyRows(req.jobId, req.rows);
    if (req.error) await this.fail(req.jobId, `the node reported: ${req.error}`);
    else if (req.done) await this.finish(req.jobId, req.done);
    const after = await this.opts.db.smokeRun.findUniqueOrThrow({ where: { id: req.jobId }, select: { state: true } });
    return { ok: true, state: after.state };
  }

  /** Fails runs past their timeout, and runs whose node went offline, with the reason. */
  async sweep(): Promise<number> {
    const { db } = this.opts;
    const now = this.opts.now();
    let failed = 0;
    const late = await db.smokeRun.findMany({
      where: { state: { in: ['queued', 'running'] }, timeoutAt: { lte: now } },
      select: { id: true, state: true, rowsDone: true, height: true },
    });
    for (const r of late) {
      await this.fail(
        r.id,
        r.state === 'queued'
          ? 'timed out: no agent picked the job up'
          : `timed out while running (${r.rowsDone}/${r.height} rows)`,
      );
      failed++;
    }
    const active = await db.smokeRun.findMany({
      where: { state: { in: ['queued', 'running'] }, nodeId: { not: null } },
      select: { id: true, nodeId: true },
    });
    if (active.length) {
      const nodes = await db.node.findMany({ where: { id: { in: [...new Set(active.map((a) => a.nodeId!))] } } });
      for (const a of active) {
        const n = nodes.find((x) => x.id === a.nodeId);
        if (!n || nodeStatus(n, now) === 'offline' || n.revokedAt) {
          await this.fail(a.id, `node ${n?.hostname ?? a.nodeId} went offline`);
          failed++;
        }
      }
    }
    return failed;
  }

  async get(id: string) {
    const r = await this.opts.db.smokeRun.findUnique({
      where: { id },
      select: { ...runSelect, pixels: true, png: true },
    });
    if (!r) throw new AppError('NOT_FOUND', `id: no smoke run ${id}`);
    return shapeRun(r);
  }

  async list(req: {
    nodeId?: string | undefined;
    batchId?: string | undefined;
    limit: number;
    cursor?: string | undefined;
  }) {
    const rows = await this.opts.db.smokeRun.findMany({
      where: { ...(req.nodeId ? { nodeId: req.nodeId } : {}), ...(req.batchId ? { batchId: req.batchId } : {}) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: req.limit + 1,
      ...(req.cursor ? { cursor: { id: req.cursor }, skip: 1 } : {}),
      select: { ...runSelect, png: true },
    });
    const page = rows.slice(0, req.limit);
    return {
      runs: page.map((r) => shapeRun(r)),
      nextCursor: rows.length > req.limit ? page[page.length - 1]!.id : null,
    };
  }
}
