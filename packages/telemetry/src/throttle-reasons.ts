import type { TThrottleReasonName, TThrottleReasons } from './schema.ts';

/**
 * Bit values of NVML's `nvmlClocksEventReason*` constants, which `clocks_event_reasons.active`
 * (`clocks_throttle_reasons.active` before driver 535) prints as a 64-bit hex mask.
 */
const REASON_BITS: ReadonlyArray<readonly [bigint, TThrottleReasonName]> = [
  [0x1n, 'gpu_idle'],
  [0x2n, 'applications_clocks_setting'],
  [0x4n, 'sw_power_cap'],
  [0x8n, 'hw_slowdown'],
  [0x10n, 'sync_boost'],
  [0x20n, 'sw_thermal_slowdown'],
  [0x40n, 'hw_thermal_slowdown'],
  [0x80n, 'hw_power_brake_slowdown'],
  [0x100n, 'display_clock_setting'],
];

const HEX_MASK = /^0x[0-9a-fA-F]{1,16}$/;

/** Returns null for anything that is not a hex mask, so a garbled value is not read as "no reason". */
export function decodeThrottleReasons(raw: string): TThrottleReasons | null {
  if (!HEX_MASK.test(raw)) return null;
  // BigInt because the mask is 64 bits wide and Number would lose the high bits.
  const mask = BigInt(raw);
  const names = REASON_BITS.filter(([bit]) => (mask & bit) !== 0n).map(([, name]) => name);
  return { raw, names };
}
