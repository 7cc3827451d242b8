/**
 * Reads `nvidia-smi --help-query-gpu`, whose field entries look like
 *
 *   "clocks_event_reasons.active" or "clocks_throttle_reasons.active"
 *   Bitmask of active clock event reasons. See nvml.h for more details.
 *
 * Each entry line lists one field and its aliases; descriptions and "Section about ..." lines are
 * prose. The list matters because nvidia-smi rejects the whole query when one field is unknown.
 */
export type THelpQueryGpu = {
  /** One entry per field: its name first, then its aliases, as the driver lists them. */
  groups: string[][];
  supported: ReadonlySet<string>;
};

const ENTRY_LINE = /^"[^"]+"(?:\s+or\s+"[^"]+")*\s*$/;

export function parseHelpQueryGpu(text: string): THelpQueryGpu {
  const groups: string[][] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (!ENTRY_LINE.test(line)) continue;
    groups.push([...line.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? '').filter(Boolean));
  }
  return { groups, supported: new Set(groups.flat()) };
}
