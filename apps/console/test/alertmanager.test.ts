import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { alertmanagerTools, startAlertmanager, type TAlertmanager } from './support/alertmanager';
import { call, metricsText, waitFor } from './support/api';
import { makeSimHost, startAgent, type TAgentProcess } from './support/agents';
import { startConsole, type TConsoleProcess } from './support/console-process';

const ENROLL = 'alertmanager-test-enroll-0123';
const HOSTNAME = 'am-hot-node';
const PUBLIC_URL = 'https://coolant.example.com';
const SIM_NVIDIA_SMI = resolve(import.meta.dirname, '../../../scripts/fleet-sim/fake-nvidia-smi.mjs');

type TChannelStatus = {
  lastError: string | null;
  lastStatus: number | null;
  consecutiveFailures: number;
  nextAttemptAt: string | null;
  pending: number;
};
type TNotifications = {
  delivery: { alertmanager: TChannelStatus | null };
  active: { alertname: string; labels: Record<string, string> }[];
};

const tools = alertmanagerTools();
let am: TAlertmanager | null = null;
let c: TConsoleProcess | null = null;
let agent: TAgentProcess | null = null;
/** The simulated GPU runs hot (86–92 °C) while this file says "hot", normal (≤ 79 °C) otherwise. */
let profileFile = '';

const setProfile = (p: 'hot' | 'normal') => writeFileSync(profileFile, p);
const get = () => call<TNotifications>(c!.url, 'notifications.get', undefined, c!.adminToken, 'GET');

beforeAll(async () => {
  if (tools.alertmanager.skip !== undefined || tools.amtool.skip !== undefined) return;
  am = await startAlertmanager({ alertmanager: tools.alertmanager.path, amtool: tools.amtool.path! });
  // A one-GPU host whose nvidia-smi reads its profile from a file on every call.
  const host = makeSimHost({ gpus: 1 });
  profileFile = join(host.bin, '..', 'profile');
  setProfile('normal');
  writeFileSync(
    join(host.bin, 'nvidia-smi'),
    `#!/bin/sh\nSIM_PROFILE="$(cat '${profileFile}')" exec "${process.execPath}" "${SIM_NVIDIA_SMI}" "$@"\n`,
  );
  c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL, COOLANT_PUBLIC_URL: PUBLIC_URL } });
  agent = startAgent({ host, server: c.url, enrollToken: ENROLL, hostname: HOSTNAME, intervalSeconds: 1 });
}, 300_000);

afterAll(async () => {
  await agent?.stop();
  await c?.stop();
  await am?.close();
});

test('a hot GPU fires in a real Alertmanager with the labels operators route on, resolves there when it cools, and survives an Alertmanager outage', async (ctx) => {
  const skip = tools.alertmanager.skip ?? tools.amtool.skip;
  if (skip !== undefined) {
    console.warn(`[console tests] skipped the Alertmanager test: ${skip}`);
    return ctx.skip(skip);
  }
  const { url, adminToken } = c!;
  await call(
    url,
    'fleet.setAlertRules',
    {
      rules: {
        gpuHot: { enabled: true, temperatureC: 85, forSeconds: 0 },
        nodeOffline: { enabled: true },
        gpuMissing: { enabled: true, forSeconds: 30 },
        collectorFailing: { enabled: true, consecutiveReports: 3 },
      },
    },
    adminToken,
  );
  await call(
    url,
    'notifications.configure',
    { alertmanager: { url: am!.url }, webhook: null, reason: 'test' },
    adminToken,
  );
  const node = await waitFor(
    'the agent to report its GPU',
    async () => {
      const list = await call<{ nodes: { id: string; hostname: string; gpuCount: number }[] }>(
        url,
        'fleet.list',
        undefined,
        adminToken,
        'GET',
      );
      return list.nodes.find((n) => n.hostname === HOSTNAME && n.gpuCount === 1);
    },
    60_000,
    250,
  );
  const detail = await call<{ gpus: { index: number; name: string | null }[] }>(
    url,
    'fleet.node',
    { id: node.id },
    adminToken,
    'GET',
  );
  const model = detail.gpus[0]!.name!;

  // Hot: CoolantGpuHot is active in Alertmanager, as amtool shows it.
  const t0 = Date.now();
  setProfile('hot');
  const [fired] = await waitFor(
    'CoolantGpuHot in amtool',
    async () => {
      const found = await am!.query('alertname=CoolantGpuHot');
      return found.length ? found : null;
    },
    30_000,
    250,
  );
  console.log(`[alertmanager] firing seen by amtool ${Date.now() - t0} ms after the GPU ran hot`);
  expect(fired!.labels).toEqual({
    alertname: 'CoolantGpuHot',
    severity: 'critical',
    node: HOSTNAME,
    node_id: node.id,
    gpu: '0',
    model,
  });
  // COOLANT_PUBLIC_URL: the alert links to its node's page in the console.
  expect(fired!.generatorURL).toBe(`${PUBLIC_URL}/fleet/${node.id}`);
  expect(fired!.status.state).toBe('active');
  expect(fired!.annotations.summary).toContain(`${HOSTNAME} GPU 0 at`);
  // Re-sent before it would expire there: endsAt is minutes ahead, not seconds.
  expect(Date.parse(fired!.endsAt) - Date.now()).toBeGreaterThan(120_000);
  expect((await get()).active).toEqual([expect.objectContaining({ alertname: 'CoolantGpuHot' })]);

  // Cooled: resolved there (a resolution received, not an expiry: endsAt was minutes away).
  const resolvedBefore = await am!.metric('alertmanager_alerts_received_total', { status: 'resolved', version: 'v2' });
  const t1 = Date.now();
  setProfile('normal');
  await waitFor(
    'CoolantGpuHot resolved in Alertmanager',
    async () => (await am!.query('alertname=CoolantGpuHot')).length === 0,
    30_000,
    250,
  );
  console.log(`[alertmanager] resolution seen by amtool ${Date.now() - t1} ms after the GPU cooled`);
  expect(await am!.metric('alertmanager_alerts_received_total', { status: 'resolved', version: 'v2' })).toBeGreaterThan(
    resolvedBefore,
  );
  expect(await get()).toMatchObject({ active: [], delivery: { alertmanager: { pending: 0, consecutiveFailures: 0 } } });

  // Alertmanager down while the GPU runs hot again: the failure is visible and the event waits.
  await am!.stop();
  setProfile('hot');
  const down = await waitFor(
    'the delivery failure in notifications.get',
    async () => {
      const d = (await get()).delivery.alertmanager!;
      return d.consecutiveFailures > 0 && d.pending > 0 ? d : null;
    },
    30_000,
    250,
  );
  expect(down.lastError).toBeTruthy();
  expect(down.lastStatus).toBeNull();
  expect(down.nextAttemptAt).not.toBeNull();
  console.log(`[alertmanager] while down: ${JSON.stringify(down)}`);

  // Back: delivered by the retry, failures back to 0, the alert active there again.
  const t2 = Date.now();
  await am!.start();
  await waitFor(
    'delivery after Alertmanager came back',
    async () => {
      const d = (await get()).delivery.alertmanager!;
      return d.consecutiveFailures === 0 && d.pending === 0;
    },
    30_000,
    250,
  );
  console.log(`[alertmanager] delivered ${Date.now() - t2} ms after Alertmanager came back`);
  expect((await am!.query('alertname=CoolantGpuHot')).map((a) => a.labels.node)).toEqual([HOSTNAME]);
  const metrics = (await metricsText(url)).text;
  expect(metrics).toMatch(/coolant_notifications_failed_total\{channel="alertmanager"\} [1-9]/);
  expect(metrics).toMatch(/coolant_notifications_delivered_total\{channel="alertmanager"\} [1-9]/);
  expect(metrics).toContain('coolant_notifications_pending{channel="alertmanager"} 0');

  // The test alert lands there too, and resolves by itself within minutes.
  const sent = await call<{ results: { channel: string; ok: boolean; status: number | null }[] }>(
    url,
    'notifications.sendTest',
    { channel: 'alertmanager' },
    adminToken,
  );
  expect(sent.results).toEqual([{ channel: 'alertmanager', ok: true, status: 200, error: null }]);
  const [testAlert] = await am!.query('alertname=CoolantTestAlert');
  expect(testAlert!.labels).toMatchObject({ alertname: 'CoolantTestAlert', severity: 'info' });
  expect(Date.parse(testAlert!.endsAt) - Date.now()).toBeLessThan(10 * 60_000);
}, 180_000);
