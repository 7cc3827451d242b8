/**
 * gpu_missing means "nvidia-smi answered and this GPU was not in the answer", held for the
 * rule's duration; a collection that timed out or failed is collector_failing, never eight
 * missing GPUs at once. The fleet views' `missing` flag follows the same rule.
 */
import { TEST_PROVIDERS } from '@coolant/db/testing';
import type { TTelemetrySample } from '@coolant/telemetry/schema';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

const T0 = Date.parse('2026-11-27T12:00:00Z');
const ALL = [0, 1, 2, 3, 4, 5, 6, 7];

/** What the agent sends when nvidia-smi hit the collection's hard timeout: no GPU lines at all. */
function timedOut(seq: number, at: Date): TTelemetrySample {
  const ok = sample(seq, [], at);
  return {
    ...ok,
    health: {
      ...ok.health,
      errors: ['nvidia-smi --query-gpu timed out after 10000 ms; process group killed'],
      gpuCount: 0,
      nvidiaSmi: {
        status: 'timeout',
        exitCode: null,
        message: 'timed out after 10000 ms',
        queriedFields: [],
        unsupportedFields: [],
      },
      timeouts: [{ part: 'nvidia-smi-query', afterMs: 10_000 }],
    },
  };
}

describe.each(TEST_PROVIDERS)('gpu_missing (%s)', (provider) => {
  let h: THarness;
  let clock = T0;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  beforeAll(async () => {
    h = await createHarness(provider, { now: () => new Date(clock) });
    admin = await h.caller({ authorization: await h.makeToken('admin') });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    clock = T0;
  });

  async function node(hostname: string) {
    const { nodeId, token } = await h.makeNodeToken(hostname);
    const api = await h.caller({ authorization: token });
    let seq = 0;
    return {
      nodeId,
      report: (indices: number[], over: Partial<TTelemetrySample> = {}) =>
        api.agent.report({
          intervalSeconds: 5,
          samples: [
            sample(
              ++seq,
              indices.map((i) => gpu(i)),
              new Date(clock),
              over,
            ),
          ],
        }),
      reportTimeout: () => api.agent.report({ intervalSeconds: 5, samples: [timedOut(++seq, new Date(clock))] }),
      alerts: async () =>
        (await admin.fleet.list()).alerts
          .filter((a) => a.nodeId === nodeId)
          .map((a) => `${a.kind}:${a.gpuIndex ?? '-'}:${a.state}`)
          .sort(),
      listMissing: async () =>
        (await admin.fleet.list()).nodes
          .find((x) => x.id === nodeId)!
          .gpus.filter((g) => g.missing)
          .map((g) => g.index),
      detailMissing: async () =>
        (await admin.fleet.node({ id: nodeId })).gpus.filter((g) => g.missing).map((g) => g.index),
    };
  }

  it('a collector that times out raises collector_failing and no gpu_missing, and no GPU is flagged missing', async () => {
    const n = await node('loaded');
    await n.report(ALL);
    for (let i = 0; i < 3; i++) {
      clock += 5_000;
      await n.reportTimeout();
    }
    await h.services.fleet.evaluate();
    expect(await n.alerts()).toEqual(['collector_failing:-:firing']);
    expect(await n.listMissing()).toEqual([]);
    expect(await n.detailMissing()).toEqual([]);
    // Still no missing GPU after the hold: a timeout is not an answer, however long it lasts.
    clock += 60_000;
    await n.reportTimeout();
    await h.services.fleet.evaluate();
    expect(await n.alerts()).toEqual(['collector_failing:-:firing']);
  });

  it('nvidia-smi listing GPUs 0-6 of 8 makes GPU 7 pending, firing after 30 s; only GPU 7 is flagged', async () => {
    const n = await node('lost-gpu');
    await n.report(ALL);
    clock += 5_000;
    await n.report(ALL.slice(0, 7));
    await h.services.fleet.evaluate();
    expect(await n.alerts()).toEqual(['gpu_missing:7:pending']);
    expect(await n.listMissing()).toEqual([7]);
    expect(await n.detailMissing()).toEqual([7]);
    clock += 29_000;
    await n.report(ALL.slice(0, 7));
    await h.services.fleet.evaluate();
    expect(await n.alerts()).toEqual(['gpu_missing:7:pending']);
    clock += 1_000;
    await n.report(ALL.slice(0, 7));
    await h.services.fleet.evaluate();
    expect(await n.alerts()).toEqual(['gpu_missing:7:firing']);
    // Back in the listing: resolved.
    clock += 5_000;
    await n.report(ALL);
    await h.services.fleet.evaluate();
    expect(await n.alerts()).toEqual([]);
    expect(await n.listMissing()).toEqual([]);
  });

  it('a timed-out collection in between neither clears nor restarts the hold', async () => {
    const n = await node('flaky');
    await n.report(ALL);
    clock += 5_000;
    await n.report(ALL.slice(0, 7));
    await h.services.fleet.evaluate();
    const [pending] = (await admin.fleet.list()).alerts.filter((a) => a.nodeId === n.nodeId);
    clock += 15_000;
    await n.reportTimeout();
    await h.services.fleet.evaluate();
    expect(await n.alerts()).toEqual(['gpu_missing:7:pending']);
    clock += 15_000;
    await n.report(ALL.slice(0, 7));
    await h.services.fleet.evaluate();
    const [firing] = (await admin.fleet.list()).alerts.filter((a) => a.nodeId === n.nodeId);
    expect(firing).toMatchObject({ id: pending!.id, kind: 'gpu_missing', gpuIndex: 7, state: 'firing' });
  });

  it('nvidia-smi listing no GPU is missing only while lspci still sees NVIDIA controllers', async () => {
    const gone = await node('driver-lost');
    const sees = await node('bus-still-sees');
    await gone.report([0, 1]);
    await sees.report([0, 1]);
    clock += 5_000;
    const empty = sample(0, []);
    await gone.report([]);
    await sees.report([], {
      health: {
        ...empty.health,
        inventory: { status: 'ok', nvidiaControllers: 2, message: null },
        inventoryMismatch: true,
        inventoryMismatchReason: 'lspci lists 2 NVIDIA controllers, nvidia-smi reports 0 GPUs',
      },
    });
    await h.services.fleet.evaluate();
    expect(await gone.alerts()).toEqual([]);
    expect(await gone.listMissing()).toEqual([]);
    expect(await sees.alerts()).toEqual(['gpu_missing:0:pending', 'gpu_missing:1:pending']);
    expect(await sees.listMissing()).toEqual([0, 1]);
  });
});
