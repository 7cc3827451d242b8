import { setMaxListeners } from 'node:events';
import { createPrismaClient, type TDb } from '@coolant/db';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TActor } from '../src/context';
import { SmokeService, type TSmokeJob } from '../src/domain/smoke/smoke-service';
import { DEFAULT_OFFLINE_AFTER_MS } from '../src/domain/fleet/node-status';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

// Waiting long polls share one tick: 1,000 waiting agents used to cost ~4,000 queries/s (one query per poll every 250 ms).
describe.each(TEST_PROVIDERS)('smoke job long polls (%s)', (provider) => {
  let h: THarness;
  const services: SmokeService[] = [];
  const clients: TDb[] = [];
  const actor: TActor = { kind: 'token', id: 't1', name: 'ops', role: 'operator' };

  beforeAll(async () => {
    h = await createHarness(provider);
  });
  afterAll(async () => {
    for (const s of services) s.stop();
    for (const c of clients) await c.$disconnect();
    await h.close();
  });

  /** A console instance's smoke service on its own Prisma client, counting smokeRun.findMany/findFirst calls. */
  function instance(opts: { tickMs?: number } = {}) {
    const counts = { reads: 0 };
    const base = createPrismaClient(h.testDb.config);
    clients.push(base);
    const db = base.$extends({
      query: {
        smokeRun: {
          async $allOperations({ operation, args, query }) {
            if (operation === 'findMany' || operation === 'findFirst') counts.reads++;
            return query(args);
          },
        },
      },
    }) as unknown as TDb;
    const smoke = new SmokeService({ db, now: () => new Date(), offlineAfterMs: DEFAULT_OFFLINE_AFTER_MS, ...opts });
    services.push(smoke);
    return { smoke, counts };
  }

  async function nodes(n: number, prefix: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await h.makeNodeToken(`${prefix}-${i}`)).nodeId);
    return ids;
  }

  /** What another instance's smoke.run leaves behind: a queued row, with no wake-up here. */
  async function queue(nodeId: string, prompt = 'OK') {
    return h.db.smokeRun.create({
      data: {
        batchId: 'b_test',
        target: nodeId,
        nodeId,
        prompt,
        seed: 1n,
        width: 28,
        height: 18,
        state: 'queued',
        createdBy: 'test',
        timeoutAt: new Date(Date.now() + 60_000),
      },
    });
  }

  /** One signal shared by many polls (each request has its own in the console). */
  function controller(): AbortController {
    const c = new AbortController();
    setMaxListeners(1_000, c.signal);
    return c;
  }

  async function until(ok: () => boolean, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  it('300 waiting polls cost one query per tick, not one each', async () => {
    const { smoke, counts } = instance();
    const ids = await nodes(300, 'many');
    const abort = controller();
    const polls = ids.map((id) => smoke.nextJob({ nodeId: id, waitMs: 30_000, signal: abort.signal }));
    await until(() => smoke.waiters.size === 300);
    expect(smoke.waiters.size).toBe(300);
    const reads0 = counts.reads;
    const ticks0 = smoke.waiters.ticks;
    await until(() => smoke.waiters.ticks >= ticks0 + 4);
    const ticks = smoke.waiters.ticks - ticks0;
    expect(ticks).toBeGreaterThanOrEqual(4);
    // A tick may be in flight when we read: at most one query more than the ticks counted.
    expect(counts.reads - reads0).toBeLessThanOrEqual(ticks + 1);
    abort.abort();
    expect(await Promise.all(polls)).toEqual(ids.map(() => null));
    expect(smoke.waiters.size).toBe(0);
  });

  it('a job queued for one node (elsewhere) reaches that node at the next tick, and no other', async () => {
    const { smoke } = instance();
    const ids = await nodes(20, 'one');
    const got = new Map<string, TSmokeJob | null>();
    const abort = controller();
    const polls = ids.map((id) =>
      smoke.nextJob({ nodeId: id, waitMs: 30_000, signal: abort.signal }).then((j) => void got.set(id, j)),
    );
    await until(() => smoke.waiters.size === 20);
    const run = await queue(ids[7]!, 'FOR-7');
    await until(() => got.size > 0, 3_000);
    expect([...got.keys()]).toEqual([ids[7]]);
    expect(got.get(ids[7]!)).toMatchObject({ id: run.id, prompt: 'FOR-7', width: 28, height: 18 });
    expect((await h.db.smokeRun.findUniqueOrThrow({ where: { id: run.id } })).state).toBe('running');
    expect(smoke.waiters.size).toBe(19);
    abort.abort();
    await Promise.all(polls);
    expect([...got.values()].filter(Boolean)).toHaveLength(1);
  });

  it('a smoke.run on this instance wakes the waiting node without waiting for the tick', async () => {
    // A tick of a minute: only the wake-up can deliver within the test.
    const { smoke } = instance({ tickMs: 60_000 });
    const n = await h.makeNodeToken('wake');
    await (
      await h.caller({ authorization: n.token })
    ).agent.report({ intervalSeconds: 5, samples: [sample(1, [gpu(0)])] });
    const poll = smoke.nextJob({ nodeId: n.nodeId, waitMs: 30_000 });
    await until(() => smoke.waiters.size === 1);
    const { runs } = await smoke.run({
      actor,
      ip: null,
      target: n.nodeId,
      prompt: 'WAKE',
      seed: 3,
      timeoutSeconds: 30,
    });
    expect(await poll).toMatchObject({ id: runs[0]!.id, prompt: 'WAKE', seed: 3 });
    expect(smoke.waiters.size).toBe(0);
  });

  it('an aborted or expired poll leaves no waiter behind and answers null', async () => {
    const { smoke } = instance();
    const [a, b] = await nodes(2, 'gone');
    const abort = controller();
    const aborted = smoke.nextJob({ nodeId: a!, waitMs: 30_000, signal: abort.signal });
    const expiring = smoke.nextJob({ nodeId: b!, waitMs: 300 });
    await until(() => smoke.waiters.size === 2);
    abort.abort();
    expect(await aborted).toBeNull();
    expect(await expiring).toBeNull();
    expect(smoke.waiters.size).toBe(0);
    // A job queued afterwards stays queued for the node's next poll: nobody took it for a poll that is gone.
    const run = await queue(a!);
    await new Promise((r) => setTimeout(r, 600));
    expect((await h.db.smokeRun.findUniqueOrThrow({ where: { id: run.id } })).state).toBe('queued');
    await h.db.smokeRun.update({ where: { id: run.id }, data: { state: 'failed' } });
  });

  it.runIf(provider === 'postgresql')(
    'two instances: a job made on A is claimed once, by the node waiting on B',
    async () => {
      const A = instance();
      const B = instance();
      const n = await h.makeNodeToken('two');
      await (
        await h.caller({ authorization: n.token })
      ).agent.report({ intervalSeconds: 5, samples: [sample(1, [gpu(0)])] });
      const onB = B.smoke.nextJob({ nodeId: n.nodeId, waitMs: 30_000 });
      await until(() => B.smoke.waiters.size === 1);
      const { runs } = await A.smoke.run({
        actor,
        ip: null,
        target: n.nodeId,
        prompt: 'A2B',
        seed: 5,
        timeoutSeconds: 30,
      });
      expect(await onB).toMatchObject({ id: runs[0]!.id, prompt: 'A2B' });
      expect((await h.db.smokeRun.findUniqueOrThrow({ where: { id: runs[0]!.id } })).state).toBe('running');
    },
  );

  it.runIf(provider === 'postgresql')(
    'two instances racing for the same nodes: every job is handed out exactly once',
    async () => {
      const A = instance();
      const B = instance();
      const ids = await nodes(30, 'race');
      const abort = controller();
      const got: { nodeId: string; job: TSmokeJob }[] = [];
      const polls = ids.flatMap((id) =>
        [A.smoke, B.smoke].map((s) =>
          s
            .nextJob({ nodeId: id, waitMs: 30_000, signal: abort.signal })
            .then((job) => void (job && got.push({ nodeId: id, job }))),
        ),
      );
      await until(() => A.smoke.waiters.size === 30 && B.smoke.waiters.size === 30);
      const made = [];
      for (const id of ids) made.push({ nodeId: id, id: (await queue(id)).id });
      await until(() => got.length >= 30, 5_000);
      await new Promise((r) => setTimeout(r, 600));
      abort.abort();
      await Promise.all(polls);
      expect(got.map((g) => g.job.id).sort()).toEqual(made.map((m) => m.id).sort());
      for (const g of got) expect(made.find((m) => m.id === g.job.id)!.nodeId).toBe(g.nodeId);
      expect(A.smoke.waiters.size + B.smoke.waiters.size).toBe(0);
    },
  );
});
