import { createHash, randomBytes } from 'node:crypto';
import { createPrismaClient, resolveDbConfig } from '@coolant/db';
import { createTestDatabase, TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, trpc, type TConsoleProcess } from '../../../apps/console/test/support/console-process';
import { gpu, sample } from './samples';

type TGuard = {
  state: string;
  rules: { position: number }[];
  leader: { instanceId: string; thisInstance: boolean; live: boolean } | null;
};
type THistory = {
  events: { kind: string; step: number | null; tier: string | null; instanceId: string | null; dryRun: boolean }[];
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call<T>(c: TConsoleProcess, path: string, input: unknown, method: 'GET' | 'POST' = 'POST'): Promise<T> {
  const r = await trpc<T>(c.url, path, input, c.adminToken, method);
  if (r.error) throw new Error(`${path}: ${r.error.message}`);
  return r.data;
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * Two real consoles on one PostgreSQL database: exactly one decides (the
 * lease holder); killed with SIGKILL (no goodbye, the lease just expires),
 * the other takes over and goes on up the ladder, and no step is taken twice.
 */
describe.skipIf(!TEST_PROVIDERS.includes('postgresql'))('guard failover: two consoles on PostgreSQL', () => {
  let pg: { url: string; drop(): Promise<void> };
  let consoles: TConsoleProcess[] = [];
  let feeding = true;
  let feeder: Promise<void> | null = null;

  beforeAll(async () => {
    pg = await createTestDatabase('coolant_guard_failover');
    consoles = [await startConsole({ databaseUrl: pg.url }), await startConsole({ databaseUrl: pg.url })];
  }, 600_000);

  afterAll(async () => {
    feeding = false;
    await feeder;
    // SIGTERM: start.mjs forwards it to the server it launched (SIGKILL would orphan the server).
    for (const c of consoles) await c.stop().catch(() => {});
    await pg?.drop();
  }, 60_000);

  it('exactly one instance decides; kill it, the other takes over; every step is taken once', async () => {
    const [a, b] = consoles as [TConsoleProcess, TConsoleProcess];
    // A node whose token we know, reporting hot GPUs every second to whichever console is alive.
    const db = createPrismaClient(resolveDbConfig({ databaseUrl: pg.url, dataDir: '/tmp' }));
    const secret = `cn_${randomBytes(16).toString('hex')}`;
    await db.node.create({
      data: { hostname: 'hot-node', tokenHash: createHash('sha256').update(secret).digest('hex') },
    });
    await db.$disconnect();
    let seq = 0;
    feeder = (async () => {
      while (feeding) {
        seq++;
        const body = {
          intervalSeconds: 1,
          samples: [sample(seq, [gpu(0, { temperatureGpu: 93 }), gpu(1, { temperatureGpu: 93 })], new Date())],
        };
        for (const c of consoles) {
          if (c.child.exitCode !== null || c.child.signalCode !== null) continue;
          const r = await trpc(c.url, 'agent.report', body, secret).catch(() => null);
          if (r && !r.error) break;
        }
        await sleep(1_000);
      }
    })();

    for (const t of ['fo-free', 'fo-plus']) await call(a, 'tiers.create', { name: t });
    await call(a, 'guard.update', {
      config: {
        intervalSeconds: 1,
        windowSeconds: 5,
        // The tiers were just created by hand: with the default 30 min the guard would leave them alone.
        operatorGraceMinutes: 0,
        rules: [
          {
            id: 'hot',
            signal: 'hot_share',
            temperatureC: 85,
            trip: 0.5,
            clear: 0.2,
            tripWindowSeconds: 4,
            clearWindowSeconds: 600,
            ladder: [
              { tier: 'fo-free', action: 'limit', window: 'day', limit: 3 },
              { tier: 'fo-free', action: 'pause' },
              { tier: 'fo-plus', action: 'limit', window: 'day', limit: 20 },
            ],
          },
        ],
      },
    });
    await call(b, 'guard.arm', {});

    const leaderOf = async () => {
      const views = await Promise.all(
        consoles
          .filter((c) => c.child.exitCode === null && c.child.signalCode === null)
          .map(async (c) => ({ c, g: await call<TGuard>(c, 'guard.get', undefined, 'GET') })),
      );
      const leaders = views.filter((v) => v.g.leader?.thisInstance && v.g.leader.live);
      return leaders.length === 1
        ? {
            console: leaders[0]!.c,
            instanceId: leaders[0]!.g.leader!.instanceId,
            position: leaders[0]!.g.rules[0]!.position,
          }
        : null;
    };
    const first = await until('a leader and the first step', async () => {
      const l = await leaderOf();
      return l && l.position >= 1 ? l : null;
    });
    expect(first.position).toBe(1);
    // Kill the console's server process itself (the instance id carries its pid), with no chance to hand the lease back;
    // start.mjs above it is only a launcher.
    const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(first.instanceId)![1]);
    process.kill(pid, 'SIGKILL');
    await first.console.stop();
    const survivor = consoles.find((c) => c !== first.console)!;

    const second = await until(
      'the survivor to take over and finish the ladder',
      async () => {
        const l = await leaderOf();
        return l && l.console === survivor && l.position === 3 ? l : null;
      },
      60_000,
    );
    expect(second.instanceId).not.toBe(first.instanceId);

    const history = await call<THistory>(survivor, 'guard.history', { limit: 500 }, 'GET');
    const steps = history.events.filter((e) => e.kind === 'step' && !e.dryRun);
    // Every step exactly once, and both instances took some.
    expect(steps.map((s) => s.step).sort()).toEqual([0, 1, 2]);
    expect(new Set(steps.map((s) => s.instanceId))).toEqual(new Set([first.instanceId, second.instanceId]));
    expect(history.events.filter((e) => e.kind === 'trip')).toHaveLength(1);
    const audit = await call<{ events: { action: string; target: string; actorName: string }[] }>(
      survivor,
      'audit.list',
      { limit: 200, actor: 'guard' },
      'GET',
    );
    expect(audit.events.filter((e) => e.action === 'tier.pause' && e.target === 'fo-free')).toHaveLength(1);
    await call(survivor, 'guard.disarm', { restore: true });
  }, 180_000);
});
