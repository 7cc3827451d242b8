#!/usr/bin/env node
// Simulated `nvidia-smi` for `npm run fleet:sim`: answers --help-query-gpu and
// --query-gpu=<any fields> --format=csv,noheader,nounits like the real tool
// (same field list and format as the H100 capture in the telemetry fixtures),
// with values that move over time (the model is gpu-model.mjs, shared with the light mode).
// Per node, from the environment:
//   SIM_SEED     node number (varies the phase and the PCI addresses)
//   SIM_GPUS     GPUs on this node
//   SIM_PROFILE  normal | hot (runs ≥ 85 °C) | flaky (sometimes "GPU is lost", sometimes a GPU missing)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queryGpus } from './gpu-model.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const template = JSON.parse(
  readFileSync(join(here, '../../packages/telemetry/test/fixtures/h100-80gb-hbm3.json'), 'utf8'),
);
const args = process.argv.slice(2);

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

const answer = queryGpus({
  template,
  seed: Number(process.env.SIM_SEED ?? 0),
  gpus: Number(process.env.SIM_GPUS ?? 8),
  profile: process.env.SIM_PROFILE ?? 'normal',
  fields: query.slice('--query-gpu='.length).split(','),
});
if ('lost' in answer) {
  process.stdout.write(`${answer.lost}\n`);
  process.exit(15);
}
if ('badField' in answer) {
  process.stdout.write(`Field "${answer.badField}" is not a valid field to query.\n`);
  process.exit(2);
}
process.stdout.write(answer.csv);
