import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { call, consume, metricsText, metricValue, parseMetrics } from './support/api';
import { makeSimHost, runAgentOnce } from './support/agents';
import { startConsole, type TConsoleProcess } from './support/console-process';
import { toolOrSkip } from '../../agent/test/helpers/debian-tool';

const ENROLL = 'metrics-test-enroll-secret-0123';
const NODES = [
  { hostname: 'metrics-sim-001', seed: 1, profile: 'normal' as const },
  { hostname: 'metrics-sim-002', seed: 2, profile: 'normal' as const },
  { hostname: 'metrics-sim-003', seed: 3, profile: 'hot' as const },
];

type TFleetList = { nodes: { id: string; hostname: string; status: string }[] };
type TFleetNode = {
  id: string;
  hostname: string;
  gpus: {
    index: number;
    name: string | null;
    pciBusId: string | null;
    temperatureGpu: number | null;
    utilizationGpu: number | null;
  }[];
};

let c: TConsoleProcess;

beforeAll(async () => {
  c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL } });
  // Real agents, one cycle each, on simulated 8-GPU hosts (fleet:sim's nvidia-smi).
  for (const n of NODES)
    await runAgentOnce({
      host: makeSimHost({ seed: n.seed, gpus: 8, profile: n.profile }),
      server: c.url,
      enrollToken: ENROLL,
      hostname: n.hostname,
    });
});

afterAll(async () => {
  await c?.stop();
});

test('GET /metrics is valid Prometheus text with per-GPU gauges, node up, admission decisions and tier pause state', async (ctx) => {
  // Some admission state to expose: decisions on one tier, a pause on another.
  await call(c.url, 'tiers.setLimit', { tier: 'free', window: 'day', limit: 1 }, c.adminToken);
  expect((await consume(c.url, c.adminToken, { tier: 'free', subject: 'm1' })).data?.allowed).toBe(true);
  expect((await consume(c.url, c.adminToken, { tier: 'free', subject: 'm1' })).data?.reason).toBe('quota_exceeded');
  await call(c.url, 'tiers.pause', { tier: 'plus', reason: 'metrics test' }, c.adminToken);

  const res = await metricsText(c.url);
  expect(res.status).toBe(200);
  expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = parseMetrics(res.text);

  const fleet = await call<TFleetList>(c.url, 'fleet.list', undefined, c.adminToken, 'GET');
  expect(fleet.nodes.map((n) => n.hostname).sort()).toEqual(NODES.map((n) => n.hostname));
  for (const summary of fleet.nodes) {
    expect(
      metricValue(samples, 'coolant_node_up', { node: summary.hostname, node_id: summary.id }),
      summary.hostname,
    ).toBe(1);
    const node = await call<TFleetNode>(c.url, 'fleet.node', { id: summary.id }, c.adminToken, 'GET');
    expect(node.gpus).toHaveLength(8);
    for (const g of node.gpus) {
      expect(g.name).toBeTruthy();
      expect(g.pciBusId).toMatch(/^[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]$/);
      const labels = {
        node: node.hostname,
        node_id: node.id,
        gpu: String(g.index),
        model: g.name!,
        pci_bus: g.pciBusId!,
      };
      // The gauge carries exactly what the API reports for that GPU.
      expect(metricValue(samples, 'coolant_gpu_temperature_celsius', labels), `${node.hostname} GPU ${g.index}`).toBe(
        g.temperatureGpu,
      );
      expect(metricValue(samples, 'coolant_gpu_utilization_percent', labels), `${node.hostname} GPU ${g.index}`).toBe(
        g.utilizationGpu,
      );
    }
  }
  expect(samples.filter((s) => s.name === 'coolant_gpu_temperature_celsius')).toHaveLength(NODES.length * 8);
  expect(samples.filter((s) => s.name === 'coolant_gpu_power_draw_watts')).toHaveLength(NODES.length * 8);

  expect(
    metricValue(samples, 'coolant_admission_decisions_total', { tier: 'free', decision: 'allowed', reason: 'ok' }),
  ).toBe(1);
  expect(
    metricValue(samples, 'coolant_admission_decisions_total', {
      tier: 'free',
      decision: 'denied',
      reason: 'quota_exceeded',
    }),
  ).toBe(1);
  expect(metricValue(samples, 'coolant_tier_paused', { tier: 'plus' })).toBe(1);
  expect(metricValue(samples, 'coolant_tier_paused', { tier: 'free' })).toBe(0);
  expect(metricValue(samples, 'coolant_ingest_gpu_samples_total')).toBe(NODES.length * 8);

  const promtool = toolOrSkip(ctx, 'promtool', 'prometheus', 'console tests');
  const check = spawnSync(promtool, ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
  // Exit 0 and nothing printed: no parse error (1) and no lint problem (3).
  expect(`${check.stdout}${check.stderr}`, res.text.slice(0, 4000)).toBe('');
  expect(check.status).toBe(0);
});
