// The simulated GPUs of `npm run fleet:sim`, shared by both modes: fake-nvidia-smi.mjs prints
// these rows as nvidia-smi's CSV for real agent processes, and the light mode's in-process
// collector (apps/agent/src/sim/sim-collector.ts) parses the same CSV with the agent's own parser.
// One model, so a node looks the same whichever way the sim runs it.
//
// `template` is the H100 capture in packages/telemetry/test/fixtures/h100-80gb-hbm3.json: its
// --help-query-gpu groups and an idle sample supply every field the model does not move.

/** A deterministic pseudo-random number in [0, 1) per (seed, gpu, 5-second slot, salt). */
export function noise(seed, gpu, salt, nowMs) {
  let x = (seed * 73856093) ^ (gpu * 19349663) ^ (Math.floor(nowMs / 5000) * 83492791) ^ (salt * 2654435761);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296;
}

/**
 * One nvidia-smi --query-gpu answer. profile: normal | hot (runs ≥ 85 °C) | flaky (sometimes
 * "GPU is lost", sometimes the last GPU missing). Returns { lost } when nvidia-smi would fail
 * (exit code 15 and that message), else { csv } (one line per GPU, fields in the order asked),
 * or { badField } naming a field nvidia-smi would refuse.
 */
export function queryGpus({ template, seed, gpus, profile, fields, nowMs = Date.now() }) {
  if (profile === 'flaky' && noise(seed, 0, 99, nowMs) < 0.25) {
    return {
      lost: `Unable to determine the device handle for GPU0000:${(0x10 + seed).toString(16)}:00.0: GPU is lost.  Reboot the system to recover this GPU`,
    };
  }
  const base = template.samples.idle[0];
  const t = nowMs / 1000;
  const rows = [];
  for (let g = 0; g < gpus; g++) {
    if (profile === 'flaky' && g === gpus - 1 && noise(seed, g, 7, nowMs) < 0.5) continue; // a GPU that comes and goes
    const wave = 0.5 + 0.5 * Math.sin(t / 60 + seed + g / 3);
    const util =
      profile === 'hot'
        ? 95 + Math.round(noise(seed, g, 1, nowMs) * 5)
        : Math.round(Math.min(100, wave * 90 + noise(seed, g, 1, nowMs) * 10));
    const temp =
      profile === 'hot'
        ? 86 + Math.round(noise(seed, g, 2, nowMs) * 6)
        : Math.round(35 + util * 0.4 + noise(seed, g, 2, nowMs) * 4);
    const values = {
      index: g,
      uuid: `GPU-sim${String(seed).padStart(4, '0')}-${g}`,
      'pci.bus_id': busId(seed, g),
      'utilization.gpu': util,
      'utilization.memory': Math.round(util * 0.6),
      'temperature.gpu': temp,
      'temperature.memory': temp + 4,
      'memory.used': Math.round(1011 + util * 700),
      'memory.free': Math.round(81559 - 1011 - util * 700),
      'power.draw': (70 + util * 6.2 + noise(seed, g, 3, nowMs) * 20).toFixed(2),
      'clocks.current.graphics': util > 5 ? 1980 : 345,
      'clocks.gr': util > 5 ? 1980 : 345,
      pstate: 'P0',
      'clocks_event_reasons.active':
        util > 5 ? (profile === 'hot' ? '0x0000000000000020' : '0x0000000000000000') : '0x0000000000000001',
      'fan.speed': '[N/A]',
    };
    const cells = [];
    for (const field of fields) {
      const group = template.helpQueryGpu.find((names) => names.includes(field));
      if (!group) return { badField: field };
      const own = group.find((n) => n in values);
      if (own !== undefined) cells.push(values[own]);
      else {
        const name = group.find((n) => n in base);
        cells.push(name === undefined ? '[N/A]' : base[name]);
      }
    }
    rows.push(cells.join(', '));
  }
  return { csv: rows.map((r) => `${r}\n`).join('') };
}

/** The PCI address lspci would list for GPU `g` of node `seed` (same as the query's pci.bus_id). */
export function busId(seed, g) {
  return `00000000:${(0x10 + g).toString(16).padStart(2, '0')}:${(seed % 256).toString(16).padStart(2, '0')}.0`;
}
