/**
 * Which nvidia-smi fields the collector asks for, and how a parsed line becomes a TGpuSample.
 */
import { LIMITS, type TGpuSample } from './schema.ts';
import type { TQueryGpuRow } from './query-gpu-csv.ts';
import { decodeThrottleReasons } from './throttle-reasons.ts';

type TFieldSpec = {
  /** Candidate names, preferred first; later ones are aliases or older drivers' names. */
  names: readonly string[];
};

/**
 * systeminformation 5.33's own query, in its order and spelling (lib/graphics.js `nvidiaSmi()`),
 * kept verbatim so the two queries ask the driver the same thing and one fake serves both.
 * The canonical spellings (`clocks.current.graphics`, ...) are what headers and captures use.
 */
const SI_FIELDS = {
  driverVersion: { names: ['driver_version'] },
  pciSubDeviceId: { names: ['pci.sub_device_id'] },
  name: { names: ['name', 'gpu_name'] },
  pciBusId: { names: ['pci.bus_id', 'gpu_bus_id'] },
  fanPercent: { names: ['fan.speed'] },
  memoryTotalMiB: { names: ['memory.total'] },
  memoryUsedMiB: { names: ['memory.used'] },
  memoryFreeMiB: { names: ['memory.free'] },
  utilizationGpu: { names: ['utilization.gpu'] },
  utilizationMemory: { names: ['utilization.memory'] },
  temperatureGpu: { names: ['temperature.gpu'] },
  temperatureMemory: { names: ['temperature.memory'] },
  powerDrawW: { names: ['power.draw'] },
  powerLimitW: { names: ['power.limit', 'gpu.power.requested_limit'] },
  clockGraphicsMHz: { names: ['clocks.gr', 'clocks.current.graphics'] },
  clockMemoryMHz: { names: ['clocks.mem', 'clocks.current.memory'] },
} as const satisfies Record<string, TFieldSpec>;

const EXTRA_FIELDS = {
  index: { names: ['index'] },
  uuid: { names: ['uuid', 'gpu_uuid'] },
  pstate: { names: ['pstate'] },
  // Renamed in driver 535; new drivers accept both, old ones only the throttle spelling.
  throttleReasons: { names: ['clocks_event_reasons.active', 'clocks_throttle_reasons.active'] },
  eccCorrected: { names: ['ecc.errors.corrected.volatile.total'] },
  eccUncorrected: { names: ['ecc.errors.uncorrected.volatile.total'] },
  migMode: { names: ['mig.mode.current'] },
} as const satisfies Record<string, TFieldSpec>;

const FIELD_SPECS = { ...SI_FIELDS, ...EXTRA_FIELDS };
type TFieldKey = keyof typeof FIELD_SPECS;

export type TQueryFieldSelection = {
  fields: string[];
  /** Preferred names of wanted fields the driver does not list. */
  unsupported: string[];
};

/** Picks, for every wanted field, the first spelling the driver lists in --help-query-gpu. */
export function selectQueryFields(supported: ReadonlySet<string>): TQueryFieldSelection {
  const fields: string[] = [];
  const unsupported: string[] = [];
  for (const spec of Object.values(FIELD_SPECS) as TFieldSpec[]) {
    const name = spec.names.find((candidate) => supported.has(candidate));
    if (name) fields.push(name);
    else unsupported.push(spec.names[0] ?? '');
  }
  return { fields, unsupported };
}

/**
 * Converts one parsed line. Values that are present but unusable (not a number, out of the
 * schema's bounds) become null and are described in `problems`, tagged with `label`.
 */
export function gpuSampleFromRow(row: TQueryGpuRow, problems: string[], label: string): TGpuSample {
  const value = (key: TFieldKey): { field: string; raw: string } | null => {
    for (const field of FIELD_SPECS[key].names) {
      const raw = row[field];
      if (raw !== undefined) return raw === null ? null : { field, raw };
    }
    return null;
  };
  const complain = (field: string, raw: string, why: string) =>
    problems.push(`${label}: ${field} ${JSON.stringify(raw)} ${why}`);

  const str = (key: TFieldKey, maxLength: number): string | null => {
    const v = value(key);
    if (!v) return null;
    if (v.raw.length > maxLength) {
      complain(v.field, `${v.raw.slice(0, 40)}…`, `is longer than ${maxLength} characters`);
      return null;
    }
    return v.raw;
  };
  const num = (key: TFieldKey, limit: { min: number; max: number }, integer = false): number | null => {
    const v = value(key);
    if (!v) return null;
    const problem = numberProblem(v.raw, limit, integer);
    if (problem) {
      complain(v.field, v.raw, problem);
      return null;
    }
    return Number(v.raw);
  };

  const pstateValue = value('pstate');
  let pstate: string | null = null;
  if (pstateValue) {
    if (/^P([0-9]|1[0-5])$/.test(pstateValue.raw)) pstate = pstateValue.raw;
    else complain(pstateValue.field, pstateValue.raw, 'is not a P-state');
  }

  const throttleValue = value('throttleReasons');
  const throttleReasons = throttleValue ? decodeThrottleReasons(throttleValue.raw) : null;
  if (throttleValue && !throttleReasons) complain(throttleValue.field, throttleValue.raw, 'is not a hex bitmask');

  const migValue = value('migMode');
  let migEnabled: boolean | null = null;
  if (migValue) {
    if (migValue.raw === 'Enabled' || migValue.raw === 'Disabled') migEnabled = migValue.raw === 'Enabled';
    else complain(migValue.field, migValue.raw, 'is neither Enabled nor Disabled');
  }

  return {
    index: num('index', LIMITS.gpuIndex, true),
    uuid: str('uuid', 128),
    name: str('name', 256),
    pciBusId: str('pciBusId', 64),
    driverVersion: str('driverVersion', 64),
    utilizationGpu: num('utilizationGpu', LIMITS.percent),
    utilizationMemory: num('utilizationMemory', LIMITS.percent),
    temperatureGpu: num('temperatureGpu', LIMITS.temperatureC),
    temperatureMemory: num('temperatureMemory', LIMITS.temperatureC),
    memoryUsedMiB: num('memoryUsedMiB', LIMITS.memoryMiB),
    memoryTotalMiB: num('memoryTotalMiB', LIMITS.memoryMiB),
    powerDrawW: num('powerDrawW', LIMITS.powerW),
    powerLimitW: num('powerLimitW', LIMITS.powerW),
    clockGraphicsMHz: num('clockGraphicsMHz', LIMITS.clockMHz),
    clockMemoryMHz: num('clockMemoryMHz', LIMITS.clockMHz),
    fanPercent: num('fanPercent', LIMITS.fanPercent),
    pstate,
    throttleReasons,
    eccCorrected: num('eccCorrected', LIMITS.eccCount, true),
    eccUncorrected: num('eccUncorrected', LIMITS.eccCount, true),
    migEnabled,
  };
}

function numberProblem(raw: string, limit: { min: number; max: number }, integer: boolean): string | null {
  // Stricter than parseFloat, which would read "12abc" as 12.
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(raw)) return 'is not a number';
  const n = Number(raw);
  if (integer && !Number.isInteger(n)) return 'is not an integer';
  if (n < limit.min || n > limit.max) return `is outside ${limit.min}..${limit.max}`;
  return null;
}
