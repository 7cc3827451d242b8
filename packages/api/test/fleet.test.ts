import { type TRPCError } from '@trpc/server';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MetricsWriter } from '../src/lib/prometheus';
import { writeFleetMetrics } from '../src/domain/fleet/fleet-metrics';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

const T0 = Date.parse('2026-11-27T12:00:00Z');

describe.each(TEST_PROVIDERS)('fleet telemetry (%s)', (provider) => {
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
    return { nodeId, api: await h.caller({ authorization: token }) };
  }

  it('stores a report: latest GPU state, raw samples and minute rollups; idle reads 0 and unknown reads null', async () => {
    const n = await node('h200-host');
    const r = await n.api.agent.report({
      intervalSeconds: 5,
      agentVersion: '0.1.0',
      samples: [sample(1, [gpu(0)], new Date(clock))],
    });
    expect(r).toEqual({ acceptedUpTo: 1, accepted: 1, duplicates: 0, gpuSamples: 1 });
    const detail = await admin.fleet.node({ id: n.nodeId });
    expect(detail.gpus[0]).toMatchObject({
      name: 'NVIDIA H200',
      pciBusId: '00000000:00:00.0',
      utilizationGpu: 0,
      memoryUsedMiB: 0,
      fanPercent: null,
      powerDrawW: 79.74,
    });
    expect(detail.charts.hour[0]!.points).toHaveLength(1);
    expect(detail.status).toBe('online');
    const fleet = await admin.fleet.list();
    const listed = fleet.nodes.find((x) => x.id === n.nodeId)!;
    expect(listed.gpus[0]).toMatchObject({ util: 0, temp: 35, memUsed: 0, missing: false });
    expect(listed.collector).toMatchObject({ ok: true });
  });

  it('a batch drained from a spool is stored once, oldest first, and a retry of it is a duplicate', async () => {
    const n = await node('spooler');
    const batch = [3, 1, 2].map((seq) =>
      sample(seq, [gpu(0, { utilizationGpu: seq * 10 })], new Date(clock + seq * 5000)),
    );
    expect(await n.api.agent.report({ intervalSeconds: 5, samples: batch })).toMatchObject({
      acceptedUpTo: 3,
      accepted: 3,
      duplicates: 0,
    });
    expect(await n.api.agent.report({ intervalSeconds: 5, samples: batch })).toMatchObject({
      acceptedUpTo: 3,
      accepted: 0,
      duplicates: 3,
    });
    const [a, b] = await Promise.all([
      n.api.agent.report({ intervalSeconds: 5, samples: [sample(4, [gpu(0)], new Date(clock + 20_000))] }),
      n.api.agent.report({ intervalSeconds: 5, samples: [sample(4, [gpu(0)], new Date(clock + 20_000))] }),
    ]);
    expect(a.accepted + b.accepted).toBe(1);
    expect(await h.db.gpuSample.count({ where: { nodeId: n.nodeId } })).toBe(4);
    const detail = await admin.fleet.node({ id: n.nodeId });
    expect(detail.lastSeq).toBe(4);
  });

  it('rejects a malformed sample with a message naming the field', async () => {
    const n = await node('garbage');
    const bad = sample(1, [gpu(0, { utilizationGpu: 250 })]);
    const e = await n.api.agent.report({ intervalSeconds: 5, samples: [bad] }).catch((x: TRPCError) => x);
    expect((e as TRPCError).code).toBe('BAD_REQUEST');
    expect((e as TRPCError).message).toContain('samples.0.gpus.0.utilizationGpu');
  });

  it('node status: online, stale after three intervals, offline after two minutes; offline raises an alert', async () => {
    const n = await node('quiet');
    await n.api.agent.report({ intervalSeconds: 5, samples: [sample(1, [gpu(0)], new Date(clock))] });
    const status = async () => (await admin.fleet.list()).nodes.find((x) => x.id === n.nodeId)!.status;
    expect(await status()).toBe('online');
    clock += 16_000;
    expect(await status()).toBe('stale');
    clock += 120_000;
    expect(await status()).toBe('offline');
    await h.services.fleet.evaluate();
    const alerts = (await admin.fleet.list()).alerts.filter((a) => a.nodeId === n.nodeId);
    expect(alerts).toEqual([expect.objectContaining({ kind: 'node_offline', state: 'firing' })]);
    await n.api.agent.report({ intervalSeconds: 5, samples: [sample(2, [gpu(0)], new Date(clock))] });
    await h.services.fleet.evaluate();
    expect((await admin.fleet.list()).alerts.filter((a) => a.nodeId === n.nodeId)).toEqual([]);
    expect((await admin.fleet.node({ id: n.nodeId })).alerts[0]).toMatchObject({
      kind: 'node_offline',
      state: 'resolved',
    });
  });

  it('a GPU at or above 85 °C for a minute fires gpu_hot; a missing GPU and a failing collector alert too', async () => {
    const n = await node('hot');
    const report = (seq: number, gpus: ReturnType<typeof gpu>[], failing = false) =>
      n.api.agent.report({
        intervalSeconds: 5,
        samples: [
          sample(
            seq,
            gpus,
            new Date(clock),
            failing
              ? {
                  health: {
                    ...sample(0, []).health,
                    errors: ['nvidia-smi exited with 15: GPU is lost'],
                    nvidiaSmi: {
                      status: 'failed',
                      exitCode: 15,
                      message: 'GPU is lost',
                      queriedFields: [],
                      unsupportedFields: [],
                    },
                  },
                }
              : {},
          ),
        ],
      });
    await report(1, [gpu(0, { temperatureGpu: 91 }), gpu(1)]);
    await h.services.fleet.evaluate();
    const mine = async () => (await admin.fleet.list()).alerts.filter((a) => a.nodeId === n.nodeId);
    expect(await mine()).toEqual([expect.objectContaining({ kind: 'gpu_hot', state: 'pending', gpuIndex: 0 })]);
    clock += 61_000;
    await report(2, [gpu(0, { temperatureGpu: 90 }), gpu(1)]);
    await h.services.fleet.evaluate();
    expect(await mine()).toEqual([expect.objectContaining({ kind: 'gpu_hot', state: 'firing', value: 90 })]);
    // A firing alert follows its reading (the same reading again writes nothing and changes nothing).
    for (const [seq, temperatureGpu] of [
      [3, 92],
      [4, 92],
    ] as const) {
      clock += 5_000;
      await report(seq, [gpu(0, { temperatureGpu }), gpu(1)]);
      await h.services.fleet.evaluate();
      expect(await mine()).toEqual([
        expect.objectContaining({
          kind: 'gpu_hot',
          state: 'firing',
          value: 92,
          message: expect.stringContaining('92 °C'),
        }),
      ]);
    }
    clock += 5_000;
    await report(5, [gpu(0, { temperatureGpu: 60 })]);
    await h.services.fleet.evaluate();
    expect((await mine()).map((a) => `${a.kind}:${a.gpuIndex}:${a.state}`)).toEqual(['gpu_missing:1:pending']);
    for (let seq = 6; seq <= 8; seq++) await report(seq, [gpu(0), gpu(1)], true);
    await h.services.fleet.evaluate();
    expect((await mine()).map((a) => a.kind)).toEqual(['collector_failing']);
    expect((await admin.fleet.list()).nodes.find((x) => x.id === n.nodeId)!.firingAlerts).toBe(1);
  });

  it('alert thresholds are editable by admins and audited', async () => {
    const rules = await admin.fleet.alertRules();
    await admin.fleet.setAlertRules({
      rules: { ...rules, gpuHot: { ...rules.gpuHot, temperatureC: 80 } },
      reason: 'summer',
    });
    expect((await admin.fleet.alertRules()).gpuHot.temperatureC).toBe(80);
    await admin.fleet.setAlertRules({ rules });
    expect((await admin.audit.list({ action: 'alerts.' })).events[0]!.action).toBe('alerts.update_rules');
  });

  it('prunes raw samples after their retention and keeps the rollups', async () => {
    const n = await node('old');
    await n.api.agent.report({ intervalSeconds: 5, samples: [sample(1, [gpu(0)], new Date(clock))] });
    clock += 3 * 3_600_000;
    await h.services.fleet.prune();
    expect(await h.db.gpuSample.count({ where: { nodeId: n.nodeId } })).toBe(0);
    expect(await h.db.gpuMinute.count({ where: { nodeId: n.nodeId } })).toBe(1);
  });

  it('writes per-GPU Prometheus gauges, leaving unknown readings out', async () => {
    const n = await node('metrics-host');
    await n.api.agent.report({
      intervalSeconds: 5,
      samples: [sample(1, [gpu(0, { utilizationGpu: 0, temperatureMemory: null })], new Date(clock))],
    });
    const m = new MetricsWriter();
    const { db, fleet, offlineAfterMs } = h.services;
    await writeFleetMetrics({ db, now: h.services.now(), offlineAfterMs, fleet, metrics: m });
    const text = m.toString();
    expect(text).toMatch(
      /coolant_gpu_utilization_percent\{node="metrics-host",node_id="[^"]+",gpu="0",model="NVIDIA H200",pci_bus="00000000:00:00.0"\} 0/,
    );
    expect(text).not.toMatch(/coolant_gpu_memory_temperature_celsius\{node="metrics-host"/);
    expect(text).toMatch(/coolant_node_up\{node="metrics-host",node_id="[^"]+"\} 1/);
  });
});
