import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The one GPU the fake nvidia-smi reports, as a test looks for it in the console. */
export const FAKE_GPU_UUID = 'GPU-c001a7e5-0000-4000-8000-000000000001';
export const FAKE_GPU_NAME = 'NVIDIA H100 80GB HBM3';

/**
 * What nvidia-smi 590 on an H100 80GB HBM3 answers for the fields systeminformation and
 * @coolant/telemetry query (idle), each entry listing a field's name and its aliases.
 */
const FIELDS: [names: string[], value: string][] = [
  [['driver_version'], '590.48.01'],
  [['name', 'gpu_name'], FAKE_GPU_NAME],
  [['uuid', 'gpu_uuid'], FAKE_GPU_UUID],
  [['pci.bus_id', 'gpu_bus_id'], '00000000:00:09.0'],
  [['pci.sub_device_id'], '0x16C110DE'],
  [['index'], '0'],
  [['fan.speed'], '[N/A]'],
  [['pstate'], 'P0'],
  [['clocks_event_reasons.active', 'clocks_throttle_reasons.active'], '0x0000000000000001'],
  [['memory.total'], '81559'],
  [['memory.used'], '0'],
  [['memory.free'], '81081'],
  [['utilization.gpu'], '0'],
  [['utilization.memory'], '0'],
  [['ecc.errors.corrected.volatile.total'], '0'],
  [['ecc.errors.uncorrected.volatile.total'], '0'],
  [['temperature.gpu'], '41'],
  [['temperature.memory'], '48'],
  [['power.draw'], '69.85'],
  [['power.limit', 'gpu.power.requested_limit'], '700.00'],
  [['clocks.current.graphics', 'clocks.gr'], '345'],
  [['clocks.current.memory', 'clocks.mem'], '2619'],
  [['mig.mode.current'], 'Disabled'],
];

/**
 * A shell-script nvidia-smi that needs nothing but /bin/sh's builtins, so it runs under a PATH
 * without coreutils, let alone node. Like the real one it fails the whole query on one unknown
 * field and prints values joined with ", ".
 */
export function fakeNvidiaSmiScript(): string {
  const help = FIELDS.map(([names]) => `${names.map((n) => `"${n}"`).join(' or ')}\n(description)\n`).join('\n');
  const cases = FIELDS.map(([names, value]) => `    ${names.join('|')}) v='${value}' ;;`).join('\n');
  return `#!/bin/sh
# Fake nvidia-smi for the packaging tests: one idle H100 80GB HBM3.
for a in "$@"; do
  case "$a" in
    --help-query-gpu) printf '%s\\n' 'List of valid properties to query for the switch "--query-gpu":' '' '${help.replaceAll("'", '')}'; exit 0 ;;
    --query-gpu=*) query="\${a#--query-gpu=}" ;;
    --format=*) format="\${a#--format=}" ;;
  esac
done
if [ -z "$query" ] || [ "$format" != "csv,noheader,nounits" ]; then
  echo "fake nvidia-smi: only --help-query-gpu and --query-gpu=... --format=csv,noheader,nounits"
  exit 2
fi
line=''
sep=''
IFS=,
for f in $query; do
  case "$f" in
${cases}
    *) echo "Field \\"$f\\" is not a valid field to query."; exit 2 ;;
  esac
  line="$line$sep$v"
  sep=', '
done
printf '%s\\n' "$line"
`;
}

/** Tools a GPU host has that an agent or systeminformation may run; only those found here are linked. */
const BASIC_TOOLS = [
  'sh',
  'bash',
  'cat',
  'env',
  'uname',
  'getconf',
  'grep',
  'sed',
  'awk',
  'head',
  'tail',
  'cut',
  'tr',
  'sort',
  'ls',
  'id',
  'hostname',
  'free',
  'df',
  'ps',
];

/**
 * A bin directory standing in for a GPU host's PATH: the fake nvidia-smi, basic tools, never
 * lspci, and node only when asked for.
 */
export function makeGpuHostBin(opts: { withNode: boolean }): string {
  const bin = mkdtempSync(join(tmpdir(), 'coolant-gpu-host-bin-'));
  writeFileSync(join(bin, 'nvidia-smi'), fakeNvidiaSmiScript(), { mode: 0o755 });
  for (const tool of BASIC_TOOLS) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    const path = r.stdout.trim();
    if (r.status === 0 && path.startsWith('/') && existsSync(path)) symlinkSync(path, join(bin, tool));
  }
  if (opts.withNode) symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

/** Whether `command -v <command>` finds it under this PATH alone. */
export function onPath(command: string, path: string): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${command}`], { env: { PATH: path }, stdio: 'ignore' }).status === 0;
}
