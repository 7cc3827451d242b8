/**
 * What `coolant-agent probe` says about one report: the verdict (exit code and the notes an
 * operator needs, such as "no lspci" or the fields nvidia-smi cannot give) and the readable table.
 * Kept apart from the collection so the wording can be tested on a payload alone.
 */
import type { TGpuSample, TTelemetrySample } from '@coolant/telemetry';
import { AGENT_VERSION } from '../version';
import type { TProbeResult } from './probe';

/** The probe's exit codes; documented in PROBE_USAGE and the agent README. */
export const PROBE_EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  noGpuTelemetry: 3,
  collectorErrors: 4,
  invalidPayload: 5,
} as const;

const EXIT_MEANING: Record<number, string> = {
  [PROBE_EXIT.ok]: 'GPU telemetry collected',
  [PROBE_EXIT.noGpuTelemetry]: 'no GPU telemetry',
  [PROBE_EXIT.collectorErrors]: 'GPU telemetry collected, with collector errors or an inventory mismatch',
  [PROBE_EXIT.invalidPayload]: 'the payload does not match the report schema',
};

/**
 * The nvidia-smi field behind each GPU value (its first spelling in the collector's query), so a
 * missing value is named the way `nvidia-smi --help-query-gpu` and the health's unsupportedFields
 * name it. Typed over every key, so a new sample field cannot be left out here.
 */
const NVIDIA_SMI_FIELD: Record<keyof TGpuSample, string> = {
  index: 'index',
  uuid: 'uuid',
  name: 'name',
  pciBusId: 'pci.bus_id',
  driverVersion: 'driver_version',
  utilizationGpu: 'utilization.gpu',
  utilizationMemory: 'utilization.memory',
  temperatureGpu: 'temperature.gpu',
  temperatureMemory: 'temperature.memory',
  memoryUsedMiB: 'memory.used',
  memoryTotalMiB: 'memory.total',
  powerDrawW: 'power.draw',
  powerLimitW: 'power.limit',
  clockGraphicsMHz: 'clocks.gr',
  clockMemoryMHz: 'clocks.mem',
  fanPercent: 'fan.speed',
  pstate: 'pstate',
  throttleReasons: 'clocks_event_reasons.active',
  eccCorrected: 'ecc.errors.corrected.volatile.total',
  eccUncorrected: 'ecc.errors.uncorrected.volatile.total',
  migEnabled: 'mig.mode.current',
};

const MIG_UTILIZATION = new Set<keyof TGpuSample>(['utilizationGpu', 'utilizationMemory']);

export type TFieldGap = {
  field: string;
  gpus: number[];
  /** unsupported: the driver does not list the field; not-available: it answered [N/A] or similar. */
  kind: 'unsupported' | 'not-available';
  why: string;
};

export type TProbeVerdict = {
  exitCode: number;
  /** One line: what the agent would report, or why it cannot report GPU telemetry. */
  summary: string;
  /** Everything an operator should know, one line each; the summary first. */
  lines: string[];
  gaps: TFieldGap[];
};

/** The fields with no value, grouped over GPUs, with why (driver lacks it, MIG, or [N/A]). */
export function fieldGaps(sample: TTelemetrySample): TFieldGap[] {
  const unsupported = new Set(sample.health.nvidiaSmi.unsupportedFields);
  const gaps = new Map<string, TFieldGap>();
  sample.gpus.forEach((gpu, position) => {
    for (const key of Object.keys(NVIDIA_SMI_FIELD) as (keyof TGpuSample)[]) {
      if (gpu[key] !== null) continue;
      const field = NVIDIA_SMI_FIELD[key];
      const kind = unsupported.has(field) ? 'unsupported' : 'not-available';
      const why =
        kind === 'unsupported'
          ? "not in this driver's --help-query-gpu, so not queried"
          : gpu.migEnabled && MIG_UTILIZATION.has(key)
            ? 'MIG is enabled: nvidia-smi gives no whole-GPU utilization ([N/A])'
            : 'nvidia-smi answered [N/A] / [Not Supported] (or a value the collector could not use; see errors)';
      const gap = gaps.get(`${field}\n${why}`) ?? { field, gpus: [], kind, why };
      gap.gpus.push(gpu.index ?? position);
      gaps.set(`${field}\n${why}`, gap);
    }
  });
  return [...gaps.values()];
}

export function assess(result: TProbeResult, env: NodeJS.ProcessEnv): TProbeVerdict {
  const sample = result.payload.samples[0]!;
  const { health } = sample;
  const smi = health.nvidiaSmi;
  const lines: string[] = [];
  const gaps = fieldGaps(sample);
  let exitCode: number = PROBE_EXIT.ok;
  let summary: string;

  if (smi.status !== 'ok' || sample.gpus.length === 0) {
    exitCode = PROBE_EXIT.noGpuTelemetry;
    const why =
      smi.status === 'missing'
        ? `${smi.message ?? 'nvidia-smi not found'} (PATH=${env['PATH'] || 'empty'}); install the NVIDIA driver's utilities, or in a container run with the NVIDIA Container Toolkit (--gpus all, NVIDIA_DRIVER_CAPABILITIES including utility)`
        : smi.status === 'ok'
          ? 'nvidia-smi answered but lists no GPU'
          : `nvidia-smi ${smi.status === 'timeout' ? 'timed out' : 'failed'}${smi.exitCode === null ? '' : ` (exit ${smi.exitCode})`}: ${smi.message ?? 'no message'}`;
    summary = `no GPU telemetry: ${why}`;
  } else {
    const plural = sample.gpus.length === 1 ? '' : 's';
    summary = `the agent would report ${sample.gpus.length} GPU${plural} (${[...new Set(sample.gpus.map((g) => g.name ?? 'unnamed'))].join(', ')})`;
  }
  lines.push(summary);

  if (health.inventory.status === 'no-lspci')
    lines.push(
      smi.status === 'ok'
        ? 'no lspci on PATH: the GPU inventory comes from nvidia-smi only, as in most GPU containers (a GPU that falls off the bus cannot be told from one that was never there)'
        : 'no lspci on PATH either: nothing on this host lists its GPUs',
    );
  else if (health.inventory.status !== 'ok')
    lines.push(`PCI inventory ${health.inventory.status}: ${health.inventory.message ?? ''}`);
  const realMismatch = health.inventoryMismatch && health.inventory.status !== 'no-lspci';
  if (realMismatch) lines.push(`inventory mismatch: ${health.inventoryMismatchReason}`);
  for (const gap of gaps)
    lines.push(
      `${gap.kind === 'unsupported' ? 'unsupported' : 'not available'}: ${gap.field} on GPU ${gap.gpus.join(', ')}: ${gap.why}`,
    );
  // The summary already says why nvidia-smi gave nothing.
  const smiError = `nvidia-smi ${smi.status}: ${smi.message}`;
  for (const error of health.errors) if (error !== smiError) lines.push(`collector error: ${error}`);
  for (const issue of result.schemaIssues) lines.push(`payload does not match the report schema: ${issue}`);

  if (result.schemaIssues.length > 0) exitCode = PROBE_EXIT.invalidPayload;
  else if (exitCode === PROBE_EXIT.ok && (health.errors.length > 0 || realMismatch))
    exitCode = PROBE_EXIT.collectorErrors;
  return { exitCode, summary, lines, gaps };
}

// ---------------------------------------------------------------------------------------------
// The table.

const dash = '–';
const num = (v: number | null, digits = 0) => (v === null ? dash : v.toFixed(digits));
const pair = (a: number | null, b: number | null, unit: string, digits = 0) =>
  a === null && b === null ? dash : `${num(a, digits)} / ${num(b, digits)} ${unit}`;
const gib = (bytes: number | null) => (bytes === null ? dash : `${(bytes / 1024 ** 3).toFixed(1)}`);

function columns(rows: string[][], indent = '  '): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((row) => `${indent}${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd()).join('\n');
}

function gpuRows(gpus: TGpuSample[]): string {
  const rows = [
    [
      '#',
      'model',
      'memory used/total',
      'util gpu/mem',
      'temp gpu/mem',
      'power draw/limit',
      'clocks gr/mem',
      'pstate',
      'MIG',
    ],
  ];
  gpus.forEach((g, position) =>
    rows.push([
      String(g.index ?? position),
      g.name ?? dash,
      pair(g.memoryUsedMiB, g.memoryTotalMiB, 'MiB'),
      g.migEnabled && g.utilizationGpu === null && g.utilizationMemory === null
        ? 'n/a (MIG)'
        : pair(g.utilizationGpu, g.utilizationMemory, '%'),
      pair(g.temperatureGpu, g.temperatureMemory, '°C'),
      pair(g.powerDrawW, g.powerLimitW, 'W', 1),
      pair(g.clockGraphicsMHz, g.clockMemoryMHz, 'MHz'),
      g.pstate ?? dash,
      g.migEnabled === null ? dash : g.migEnabled ? 'enabled' : 'off',
    ]),
  );
  const ids = gpus.map(
    (g, position) =>
      `  GPU ${g.index ?? position}: bus ${g.pciBusId ?? dash}, uuid ${g.uuid ?? dash}, driver ${g.driverVersion ?? dash}, fan ${g.fanPercent === null ? dash : `${g.fanPercent} %`}, ECC corrected/uncorrected ${num(g.eccCorrected)} / ${num(g.eccUncorrected)}, throttle ${g.throttleReasons ? g.throttleReasons.names.join(', ') || 'none' : dash}`,
  );
  return `${columns(rows)}\n${ids.join('\n')}`;
}

export function renderTable(result: TProbeResult, verdict: TProbeVerdict): string {
  const sample = result.payload.samples[0]!;
  const { host, health } = sample;
  const smi = health.nvidiaSmi;
  const os = host.os;
  const inventory =
    health.inventory.status === 'ok'
      ? `${health.inventory.nvidiaControllers ?? 0} NVIDIA controller(s) on PCI (lspci), ${host.gpuInventory?.length ?? 0} display controller(s) in all`
      : health.inventory.status === 'no-lspci'
        ? 'unknown: no lspci (inventory from nvidia-smi only)'
        : `${health.inventory.status}: ${health.inventory.message ?? ''}`;
  const hostRows = [
    ['hostname', host.hostname],
    [
      'OS',
      os
        ? `${os.distro ?? dash} ${os.release ?? ''} (${os.platform ?? dash}, kernel ${os.kernel ?? dash}, ${os.arch ?? dash})`
        : dash,
    ],
    ['CPU load', host.cpuLoadPercent === null ? dash : `${host.cpuLoadPercent.toFixed(1)} %`],
    ['memory', `${gib(host.memUsedBytes)} / ${gib(host.memTotalBytes)} GiB used`],
    ['PCI inventory', inventory],
  ];
  const healthRows = [
    [
      'nvidia-smi',
      `${smi.status}${smi.message ? `: ${smi.message}` : ''} (${smi.queriedFields.length} fields queried)`,
    ],
    ['unsupported', smi.unsupportedFields.length ? smi.unsupportedFields.join(', ') : 'none'],
    [
      'not available',
      verdict.gaps
        .filter((g) => g.kind === 'not-available')
        .map((g) => `${g.field} (GPU ${g.gpus.join(', ')})`)
        .join(', ') || 'none',
    ],
    [
      'host metrics',
      `${health.hostMetrics.status}${health.hostMetrics.message ? `: ${health.hostMetrics.message}` : ''}`,
    ],
    ['inventory', `${health.inventory.status}${health.inventory.message ? `: ${health.inventory.message}` : ''}`],
    ['mismatch', health.inventoryMismatch ? (health.inventoryMismatchReason ?? 'yes') : 'none'],
    [
      'timeouts',
      health.timeouts.length ? health.timeouts.map((t) => `${t.part} after ${t.afterMs} ms`).join(', ') : 'none',
    ],
    ['errors', health.errors.length ? String(health.errors.length) : 'none'],
    ['collected in', `${health.durationMs} ms`],
  ];
  const gpuSection =
    sample.gpus.length > 0
      ? gpuRows(sample.gpus)
      : `  none (nvidia-smi ${smi.status}${smi.message ? `: ${smi.message}` : ''})`;
  return [
    `coolant-agent ${AGENT_VERSION} probe: what this host would report (nothing was sent)`,
    '',
    `GPUs (${sample.gpus.length})`,
    gpuSection,
    '',
    'Host',
    columns(hostRows),
    '',
    'Collector health',
    columns(healthRows),
    '',
    'Notes',
    ...verdict.lines.map((l) => `  - ${l}`),
    '',
    `exit ${verdict.exitCode}: ${EXIT_MEANING[verdict.exitCode] ?? verdict.summary}`,
    '',
  ].join('\n');
}
