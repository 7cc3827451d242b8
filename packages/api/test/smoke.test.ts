import { TRPCError } from '@trpc/server';
import { generate, pictureChecksum } from '@coolant/generator';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof TRPCError ? `${e.code}: ${e.message}` : String(e);
  }
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Generation runs on worker threads; both databases, since the rows (BigInt seed, Bytes pixels) go through each driver.
describe.each(TEST_PROVIDERS)('smoke tests (%s)', (provider) => {
  let h: THarness;
  let op: Awaited<ReturnType<THarness['caller']>>;
  beforeAll(async () => {
    h = await createHarness(provider);
    op = await h.caller({ authorization: await h.makeToken('operator') });
  });
  afterAll(() => h.close());

  async function onlineNode(name: string) {
    const n = await h.makeNodeToken(name);
    const api = await h.caller({ authorization: n.token });
    await api.agent.report({ intervalSeconds: 5, samples: [sample(1, [gpu(0)])] });
    return { ...n, api };
  }

  /** What an honest agent does: take the job, draw it, stream rows, report the checksum. */
  async function serve(api: Awaited<ReturnType<THarness['caller']>>, tamper?: (pixels: Uint8Array) => void) {
    const { job } = await api.agent.nextJob({ waitMs: 5_000 });
    expect(job).not.toBeNull();
    const rows: { y: number; data: string }[] = [];
    const result = generate(
      { prompt: job!.prompt, seed: job!.seed, width: job!.width, height: job!.height },
      (y, row) => rows.push({ y, data: Buffer.from(row).toString('base64') }),
    );
    if (tamper) {
      tamper(result.pixels);
      rows.forEach(
        (r) =>
          (r.data = Buffer.from(result.pixels.subarray(r.y * job!.width, (r.y + 1) * job!.width)).toString('base64')),
      );
    }
    const checksum = tamper
      ? pictureChecksum(result.modelVersion, result.width, result.height, result.pixels)
      : result.checksum;
    await api.agent.jobResult({ jobId: job!.id, rows: rows.slice(0, 5) });
    return api.agent.jobResult({
      jobId: job!.id,
      rows: rows.slice(5),
      done: {
        checksum,
        modelVersion: result.modelVersion,
        firstRowMs: result.timings.firstRowMs,
        totalMs: result.timings.totalMs,
      },
    });
  }

  it('runs locally inside the console and passes against the reference', async () => {
    const { runs, expectedChecksum } = await op.smoke.run({ target: 'local', prompt: 'OK', seed: 1 });
    const done = await until(
      () => op.smoke.get({ id: runs[0]!.id }),
      (r) => r.state === 'passed' || r.state === 'failed',
    );
    expect(done).toMatchObject({
      state: 'passed',
      match: true,
      checksum: expectedChecksum,
      rowsDone: 18,
      width: 28,
      height: 18,
    });
    expect(done.png).toMatch(/^iVBORw0KGgo/);
    expect(done.firstRowMs).toBeGreaterThanOrEqual(0);
    expect(done.pixelsPerSecond).toBeGreaterThan(0);
  });

  it('queues a job a node takes by long poll, streams rows, and passes', async () => {
    const n = await onlineNode('smoke-a');
    const waiting = n.api.agent.nextJob({ waitMs: 10_000 });
    const t0 = Date.now();
    const { runs } = await op.smoke.run({ target: n.nodeId, prompt: 'HI', seed: 42 });
    const { job } = await waiting;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(job).toMatchObject({ id: runs[0]!.id, prompt: 'HI', seed: 42 });
    // Put it back for serve() to take, as a real agent would on the next poll.
    await h.db.smokeRun.update({ where: { id: job!.id }, data: { state: 'queued' } });
    expect(await serve(n.api)).toEqual({ ok: true, state: 'passed' });
    const listed = await op.smoke.list({ nodeId: n.nodeId });
    expect(listed.runs[0]).toMatchObject({ state: 'passed', match: true, hostname: 'smoke-a' });
    expect((await op.fleet.list()).nodes.find((x) => x.id === n.nodeId)!.lastSmoke).toMatchObject({ state: 'passed' });
    expect((await op.fleet.node({ id: n.nodeId })).lastSmoke).toMatchObject({ state: 'passed', prompt: 'HI' });
  });

  it('"all" runs on every online node and flags the one whose pixels differ', async () => {
    await h.db.node.updateMany({ data: { revokedAt: new Date() } });
    const good = await onlineNode('good');
    const bad = await onlineNode('bad');
    const { batchId } = await op.smoke.run({ target: 'all', prompt: 'A1', seed: 7 });
    expect(await serve(good.api)).toEqual({ ok: true, state: 'passed' });
    expect(await serve(bad.api, (p) => (p[3] = (p[3]! + 1) % 3))).toEqual({ ok: true, state: 'failed' });
    const batch = await op.smoke.list({ batchId });
    const flagged = batch.runs.find((r) => r.hostname === 'bad')!;
    expect(flagged.match).toBe(false);
    expect(flagged.reason).toContain('differs from the reference');
  });

  it('refuses a checksum that does not describe the streamed rows', async () => {
    const n = await onlineNode('liar');
    await op.smoke.run({ target: n.nodeId, prompt: 'OK', seed: 3 });
    const { job } = await n.api.agent.nextJob({ waitMs: 1_000 });
    const r = generate({ prompt: 'OK', seed: 99, width: job!.width, height: job!.height });
    const rows = Array.from({ length: job!.height }, (_, y) => ({
      y,
      data: Buffer.from(r.pixels.subarray(y * job!.width, (y + 1) * job!.width)).toString('base64'),
    }));
    const reference = generate({ prompt: 'OK', seed: 3 });
    const res = await n.api.agent.jobResult({
      jobId: job!.id,
      rows,
      done: { checksum: reference.checksum, modelVersion: reference.modelVersion, firstRowMs: 1, totalMs: 2 },
    });
    expect(res.state).toBe('failed');
    expect((await op.smoke.get({ id: job!.id })).reason).toContain('does not match the rows');
  });

  it('a job nobody takes, and a node that goes offline, fail with a reason', async () => {
    const n = await onlineNode('silent');
    const { runs } = await op.smoke.run({ target: n.nodeId, prompt: 'OK', seed: 5, timeoutSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1_100));
    await h.services.smoke.sweep();
    expect(await op.smoke.get({ id: runs[0]!.id })).toMatchObject({
      state: 'failed',
      reason: 'timed out: no agent picked the job up',
    });
    const m = await onlineNode('vanishing');
    const second = await op.smoke.run({ target: m.nodeId, prompt: 'OK', seed: 6 });
    await m.api.agent.nextJob({ waitMs: 1_000 });
    await h.db.node.update({ where: { id: m.nodeId }, data: { lastSeenAt: new Date(Date.now() - 10 * 60_000) } });
    await h.services.smoke.sweep();
    expect(await op.smoke.get({ id: second.runs[0]!.id })).toMatchObject({
      state: 'failed',
      reason: 'node vanishing went offline',
    });
  });

  it('bad input names the problem', async () => {
    const n = await onlineNode('input');
    expect(await code(op.smoke.run({ target: 'local', prompt: '', seed: 1 }))).toContain('prompt');
    expect(await code(op.smoke.run({ target: 'local', prompt: 'a~', seed: 1 }))).toMatch(/BAD_REQUEST: .*prompt/);
    expect(await code(op.smoke.run({ target: 'local', prompt: 'OK', seed: -1 }))).toContain('seed');
    expect(await code(op.smoke.run({ target: 'local', prompt: 'OK', seed: 2 ** 32 }))).toContain('seed');
    expect(
      await code(op.smoke.run({ target: 'local', prompt: 'OK', seed: 1, size: { width: 5000, height: 18 } })),
    ).toContain('size.width');
    expect(await code(op.smoke.run({ target: 'nope', prompt: 'OK', seed: 1 }))).toContain('unknown node');
    expect(await code(op.smoke.run({ target: n.nodeId, prompt: 'OK', seed: 1 }))).toBe('ok');
    const viewer = await h.caller({ authorization: await h.makeToken('viewer') });
    expect(await code(viewer.smoke.run({ target: 'local', prompt: 'OK', seed: 1 }))).toContain('FORBIDDEN');
    expect((await op.audit.list({ action: 'smoke.run' })).events.length).toBeGreaterThan(0);
  });
});
