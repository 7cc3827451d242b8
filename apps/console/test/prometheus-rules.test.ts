/**
 * deploy/prometheus/coolant-rules.yml against a real console. promtool's unit tests
 * (apps/agent/test/deploy.test.ts) prove the rules on series written by hand; this proves those
 * series are the ones the console exports: every coolant_* name in the rules is a family of its
 * /metrics, and real Prometheus scraping it fires the fleet alerts Coolant itself has firing, with
 * the labels the rules promise, and evaluates every rule without error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ALERT_NAMES } from '../../../packages/api/src/domain/notifications/notification-event';
import { toolOrSkip } from '../../agent/test/helpers/debian-tool';
import { call, metricsText } from './support/api';
import { makeSimHost, runAgentOnce, startAgent, type TAgentProcess } from './support/agents';
import { freePort, startConsole, type TConsoleProcess } from './support/console-process';

const RULES_FILE = resolve(import.meta.dirname, '../../../deploy/prometheus/coolant-rules.yml');
const ENROLL = 'prometheus-rules-enroll-secret-0123';
/** Series Prometheus writes itself, not the console. */
const PROMETHEUS_OWN = new Set(['up']);
/** Coolant's alert kinds and the alertnames its own push gives them: the rules that mirror them. */
const MIRRORED: Record<string, string> = Object.fromEntries(
  Object.entries(ALERT_NAMES).map(([kind, { alertname }]) => [kind, alertname]),
);
const SEVERITY = new Map(Object.values(ALERT_NAMES).map((a) => [a.alertname, a.severity]));

type TFleetList = {
  nodes: { id: string; hostname: string; status: string; gpus: { index: number; name: string | null }[] }[];
  alerts: { kind: string; nodeId: string; gpuIndex: number | null; state: string }[];
};
type TPromAlert = { labels: Record<string, string>; state: string };
type TPromRule = { name: string; health: string; lastError?: string };

const rulesText = readFileSync(RULES_FILE, 'utf8');
let c: TConsoleProcess;
const agents: TAgentProcess[] = [];
let prometheus: ChildProcess | null = null;
const dirs: string[] = [];

beforeAll(async () => {
  // Offline after 20 s, so a node that stops reporting goes offline while the test runs.
  c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL, COOLANT_NODE_OFFLINE_AFTER_SECONDS: '20' } });
});

afterAll(async () => {
  prometheus?.kill('SIGKILL');
  await Promise.all(agents.map((a) => a.stop()));
  await c?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('every metric the rules read is a family of a real console /metrics (or Prometheus own up)', async () => {
  const res = await metricsText(c.url);
  expect(res.status).toBe(200);
  // A family is declared even while it has no sample (no GPU yet), so an empty fleet lists them all.
  const exported = new Set([...res.text.matchAll(/^# TYPE (\S+) (?:gauge|counter)$/gm)].map((m) => m[1]!));
  const exprs = [...rulesText.matchAll(/^\s+expr: (?:\|\n)?([\s\S]*?)\n\s+for:/gm)].map((m) => m[1]!);
  expect(exprs).toHaveLength(alertCount());
  const read = new Set(exprs.flatMap(metricNames));
  expect(read).toContain('coolant_gpu_temperature_celsius');
  expect(read).toContain('up');
  expect([...read].filter((name) => !exported.has(name) && !PROMETHEUS_OWN.has(name))).toEqual([]);
  // Names in the annotations (where to look next) are exported too.
  const named = [...rulesText.matchAll(/\b(coolant_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
  expect(named.filter((name) => !exported.has(name))).toEqual([]);
});

test('metricNames finds the series an expression reads, not its functions, labels or keywords', () => {
  expect(
    metricNames(
      'sum by (tier) (rate(coolant_a_total{decision="denied", reason!~"x|y"}[5m])) / on (tier) group_left (node) max without (instance) (b) > 0.25 and absent(up{job="c"} == 1) unless nvidia_gpu_temp offset 5m',
    ),
  ).toEqual(['coolant_a_total', 'b', 'up', 'nvidia_gpu_temp']);
});

test('Prometheus scraping a real console fires the fleet alerts Coolant has firing, with node/gpu/model labels', async (ctx) => {
  const promtool = toolOrSkip(ctx, 'prometheus', 'prometheus', 'console tests');
  // Coolant's own rules fire at once (no hold), as the rules below with `for: 0s` do.
  await call(
    c.url,
    'fleet.setAlertRules',
    {
      rules: {
        gpuHot: { enabled: true, temperatureC: 85, forSeconds: 0 },
        nodeOffline: { enabled: true },
        gpuMissing: { enabled: true, forSeconds: 0 },
        collectorFailing: { enabled: true, consecutiveReports: 3 },
      },
    },
    c.adminToken,
  );
  const server = c.url;
  const enrollToken = ENROLL;
  // gone: reports once, then is offline 20 s later. lossy: 8 GPUs, then 7 (GPU 7 missing).
  await runAgentOnce({ host: makeSimHost({ seed: 5, gpus: 1 }), server, enrollToken, hostname: 'prom-gone' });
  const lossy = makeSimHost({ seed: 4, gpus: 8 });
  await runAgentOnce({ host: lossy, server, enrollToken, hostname: 'prom-lossy' });
  agents.push(
    startAgent({
      host: { ...lossy, env: { ...lossy.env, SIM_GPUS: '7' } },
      server,
      enrollToken,
      hostname: 'prom-lossy',
    }),
    startAgent({ host: makeSimHost({ seed: 3, gpus: 2, profile: 'hot' }), server, enrollToken, hostname: 'prom-hot' }),
  );
  // stuck: nvidia-smi hangs, every collection times out (1 s at a 1 s interval).
  const stuck = makeSimHost({ seed: 6, gpus: 2 });
  writeFileSync(stuck.hangFlag, '');
  agents.push(startAgent({ host: stuck, server, enrollToken, hostname: 'prom-stuck', intervalSeconds: 1 }));

  // Real Prometheus on the rules as shipped, only the holds set to 0 s: this test is about the
  // expressions over real series (the holds are promtool's to test), scraped and evaluated every second.
  const dir = mkdtempSync(join(tmpdir(), 'coolant-prometheus-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'rules.yml'), rulesText.replace(/^(\s+)for: \S+$/gm, '$1for: 0s'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - rules.yml
scrape_configs:
  - job_name: coolant-console
    static_configs:
      - targets: ['127.0.0.1:${c.port}']
`,
  );
  const promPort = await freePort();
  let promOut = '';
  prometheus = spawn(
    promtool,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.stdout!.on('data', (d: Buffer) => (promOut += d.toString()));
  prometheus.stderr!.on('data', (d: Buffer) => (promOut += d.toString()));
  const prom = `http://127.0.0.1:${promPort}`;
  const promGet = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${prom}${path}`, { signal: AbortSignal.timeout(5_000) });
    return ((await r.json()) as { data: T }).data;
  };

  const expectedKinds = (f: TFleetList) => {
    const host = (hostname: string) => f.nodes.find((n) => n.hostname === hostname)?.id;
    const firing = f.alerts.filter((a) => a.state === 'firing');
    const has = (kind: string, hostname: string, gpu: number | null) =>
      firing.some((a) => a.kind === kind && a.nodeId === host(hostname) && a.gpuIndex === gpu);
    return (
      has('node_offline', 'prom-gone', null) &&
      has('gpu_hot', 'prom-hot', 0) &&
      has('gpu_hot', 'prom-hot', 1) &&
      has('gpu_missing', 'prom-lossy', 7) &&
      has('collector_failing', 'prom-stuck', null)
    );
  };
  let coolant: string[];
  let fromPrometheus: string[];
  let promAlerts: TPromAlert[];
  let fleet: TFleetList;
  const deadline = Date.now() + 120_000;
  for (;;) {
    fleet = await call<TFleetList>(c.url, 'fleet.list', undefined, c.adminToken, 'GET');
    const hostnames = new Map(fleet.nodes.map((n) => [n.id, n.hostname]));
    coolant = fleet.alerts
      .filter((a) => a.state === 'firing' && MIRRORED[a.kind])
      .map((a) => `${MIRRORED[a.kind]} ${hostnames.get(a.nodeId)} ${a.nodeId} ${a.gpuIndex ?? '-'}`)
      .sort();
    try {
      promAlerts = (await promGet<{ alerts: TPromAlert[] }>('/api/v1/alerts')).alerts;
    } catch {
      promAlerts = []; // not listening yet
    }
    fromPrometheus = promAlerts
      .filter((a) => a.state === 'firing' && Object.values(MIRRORED).includes(a.labels.alertname!))
      .map((a) => `${a.labels.alertname} ${a.labels.node} ${a.labels.node_id} ${a.labels.gpu ?? '-'}`)
      .sort();
    if (expectedKinds(fleet) && coolant.join('\n') === fromPrometheus.join('\n')) break;
    if (Date.now() > deadline || prometheus.exitCode !== null)
      throw new Error(
        `Prometheus never agreed with Coolant.\nCoolant firing:\n${coolant.join('\n')}\nPrometheus firing:\n${fromPrometheus.join('\n')}\n` +
          `agents:\n${agents.map((a) => a.output().slice(-1500)).join('\n---\n')}\nprometheus:\n${promOut.slice(-3000)}`,
      );
    await new Promise((r) => setTimeout(r, 1_000));
  }
  expect(coolant.length).toBeGreaterThanOrEqual(5);

  // The labels operators route on: node and GPU index, the model Coolant knows, and the severity
  // Coolant's own push gives the same alertname (one Alertmanager route serves both).
  const models = new Map(fleet.nodes.flatMap((n) => n.gpus.map((g) => [`${n.id}/${g.index}`, g.name])));
  expect(Object.values(MIRRORED).sort()).toEqual([
    'CoolantCollectorFailing',
    'CoolantGpuHot',
    'CoolantGpuMissing',
    'CoolantNodeOffline',
  ]);
  for (const a of promAlerts.filter((x) => x.state === 'firing')) {
    expect(a.labels.severity, a.labels.alertname).toMatch(/^(critical|warning|info)$/);
    if (SEVERITY.has(a.labels.alertname!))
      expect(a.labels.severity, a.labels.alertname).toBe(SEVERITY.get(a.labels.alertname!));
    if (a.labels.gpu !== undefined)
      expect(a.labels.model, `${a.labels.alertname} ${a.labels.node}`).toBe(
        models.get(`${a.labels.node_id}/${a.labels.gpu}`),
      );
  }
  // Every rule evaluated on these real series without an error (a many-to-many match, say).
  const groups = await promGet<{ groups: { rules: TPromRule[] }[] }>('/api/v1/rules');
  const rules = groups.groups.flatMap((g) => g.rules);
  expect(rules).toHaveLength(alertCount());
  expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
});

function alertCount(): number {
  return [...rulesText.matchAll(/^\s+- alert: /gm)].length;
}

const PROMQL_WORDS = new Set(
  'by without on ignoring group_left group_right and or unless bool offset sum min max avg group stddev stdvar count count_values bottomk topk quantile'.split(
    ' ',
  ),
);

/** The series a PromQL expression reads: its identifiers less label matchers, grouping lists, functions and keywords. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1()');
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((n) => !PROMQL_WORDS.has(n));
}
