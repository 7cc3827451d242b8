#!/usr/bin/env node
// Simulated `nvidia-smi` for `npm run fleet:sim`: answers --help-query-gpu and
// --query-gpu=<any fields> --format=csv,noheader,nounits like the real tool
// (same field list and format as the H100 capture in the telemetry fixtures),
// with values that move over time. Per node, from the environment:
//   SIM_SEED     node number (varies the phase and the PCI addresses)
//   SIM_GPUS     GPUs on this node
//   SIM_PROFILE  normal | hot (runs ≥ 85 °C) | flaky (sometimes "GPU is lost", sometimes a GPU missing)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const template = JSON.parse(readFileSync(join(here, '../../packages/telemetry/test/fixtures/h100-80gb-hbm3.json'), 'utf8'));
const args = process.argv.slice(2);
const seed = Number(process.env.SIM_SEED ?? 0);
const gpus = Number(process.env.SIM_GPUS ?? 8);
const profile = process.env.SIM_PROFILE ?? 'normal';

if (args.includes('--help-query-gpu')) {
  const lines = ['List of valid properties to query for the switch "--query-gpu":', ''];
  for (const group of template.helpQueryGpu) lines.push(group.map((n) => `"${n}"`).join(' or '), '', '');
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(0);
}

const query = args.find((a) => a.startsWith('--query-gpu='));
if (!query || !args.includes('--format=csv,noheader,nounits')) {
  process.stdout.write('sim nvidia-smi: only --help-query-gpu and --query-gpu=… --format=csv,noheader,nounits\n');
  process.exit(2);
}

// A deterministic pseudo-random number per (seed, gpu, time slot, salt).
function noise(gpu, salt) {
  let x = (seed * 73856093) ^ (gpu * 19349663) ^ (Math.floor(Date.now() / 5000) * 83492791) ^ (salt * 2654435761);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296;
}

if (profile === 'flaky' && noise(0, 99) < 0.25) {
  process.stdout.write(`Unable to determine the device handle for GPU0000:${(0x10 + seed).toString(16)}:00.0: GPU is lost.  Reboot the system to recover this GPU\n`);
  process.exit(15);
}

const base = template.samples.idle[0];
const t = Date.now() / 1000;
const rows = [];
for (let g = 0; g < gpus; g++) {
  if (profile === 'flaky' && g === gpus - 1 && noise(g, 7) < 0.5) continue; // a GPU that comes and goes
  const wave = 0.5 + 0.5 * Math.sin(t / 60 + seed + g / 3);
  const util = profile === 'hot' ? 95 + Math.round(noise(g, 1) * 5) : Math.round(Math.min(100, wave * 90 + noise(g, 1) * 10));
  const temp = profile === 'hot' ? 86 + Math.round(noise(g, 2) * 6) : Math.round(35 + util * 0.4 + noise(g, 2) * 4);
  const values = {
    index: g,
    uuid: `GPU-sim${String(seed).padStart(4, '0')}-${g}`,
    'pci.bus_id': `00000000:${(0x10 + g).toString(16).padStart(2, '0')}:${(seed % 256).toString(16).padStart(2, '0')}.0`,
    'utilization.gpu': util,
    'utilization.memory': Math.round(util * 0.6),
    'temperature.gpu': temp,
    'temperature.memory': temp + 4,
    'memory.used': Math.round(1011 + util * 700),
    'memory.free': Math.round(81559 - 1011 - util * 700),
    'power.draw': (70 + util * 6.2 + noise(g, 3) * 20).toFixed(2),
    'clocks.current.graphics': util > 5 ? 1980 : 345,
    'clocks.gr': util > 5 ? 1980 : 345,
    pstate: util > 5 ? 'P0' : 'P0',
    'clocks_event_reasons.active': util > 5 ? (profile === 'hot' ? '0x0000000000000020' : '0x0000000000000000') : '0x0000000000000001',
    'fan.speed': '[N/A]',
  };
  const fields = query.slice('--query-gpu='.length).split(',');
  rows.push(
    fields
      .map((field) => {
        const group = template.helpQueryGpu.find((names) => names.includes(field));
        if (!group) {
          process.stdout.write(`Field "${field}" is not a valid field to query.\n`);
          process.exit(2);
        }
        const own = group.find((n) => n in values);
        if (own !== undefined) return values[own];
        const name = group.find((n) => n in base);
        return name === undefined ? '[N/A]' : base[name];
      })
      .join(', '),
  );
}
process.stdout.write(rows.map((r) => `${r}\n`).join(''));
