#!/usr/bin/env node
// `npm run fleet:sim -- --nodes 50 --gpus 8 [--server URL] [--enroll-token T] [--interval 5] [--hot 3] [--flaky 1]`
// Starts that many REAL agents (the agent's own code path: collector child,
// spool, enrollment, reports) against a running console. Each gets its own
// state dir, hostname and a PATH whose nvidia-smi is the simulator above.
// Ctrl-C stops them all.
//
// `npm run fleet:sim -- --light --nodes 1000 …` runs them all in this one process instead: each
// node is the agent's own Agent (spool, sender, smoke-job loop) with a simulated collector (same
// GPU model, gpu-model.mjs); see apps/agent/src/sim/ and `--light --help`. One process per node
// saturates a 2-core machine at a few dozen nodes.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

if (process.argv.includes('--light')) {
  // Built once (esbuild, like the agent's bundle), then run here with plain node: no tsx, one process.
  const { buildLight } = await import('./build-light.mjs');
  await import(pathToFileURL(await buildLight()).href);
} else {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '10' },
      gpus: { type: 'string', default: '8' },
      server: { type: 'string', default: process.env.COOLANT_URL ?? 'http://127.0.0.1:3000' },
      'enroll-token': { type: 'string', default: process.env.COOLANT_ENROLL_TOKEN },
      interval: { type: 'string', default: '5' },
      hot: { type: 'string' },
      flaky: { type: 'string', default: '1' },
      prefix: { type: 'string', default: 'sim' },
      dir: { type: 'string' },
    },
  });
  const nodes = Number(values.nodes);
  const gpus = Number(values.gpus);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 2000) throw new Error('--nodes must be 1..2000');
  if (!Number.isInteger(gpus) || gpus < 0 || gpus > 64) throw new Error('--gpus must be 0..64');
  if (!values['enroll-token']) {
    console.error(
      'fleet:sim needs --enroll-token (or COOLANT_ENROLL_TOKEN): the enrollment secret from the Tokens page',
    );
    process.exit(2);
  }
  const hot = Number(values.hot ?? Math.max(1, Math.round(nodes / 10)));
  const flaky = Number(values.flaky);
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'coolant-fleet-sim-'));
  const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');
  const children = [];

  for (let i = 0; i < nodes; i++) {
    const profile = i < hot ? 'hot' : i >= nodes - flaky ? 'flaky' : 'normal';
    const name = `${values.prefix}-${String(i + 1).padStart(3, '0')}`;
    const bin = join(dir, name, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'nvidia-smi'),
      `#!/bin/sh\nexec "${process.execPath}" "${join(here, 'fake-nvidia-smi.mjs')}" "$@"\n`,
    );
    chmodSync(join(bin, 'nvidia-smi'), 0o755);
    const child = spawn(
      process.execPath,
      [
        tsx,
        join(root, 'apps/agent/src/main.ts'),
        '--server',
        values.server,
        '--state-dir',
        join(dir, name, 'state'),
        '--interval',
        values.interval,
        '--hostname',
        name,
      ],
      {
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          COOLANT_ENROLL_TOKEN: values['enroll-token'],
          SIM_SEED: String(i),
          SIM_GPUS: String(gpus),
          SIM_PROFILE: profile,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr.on('data', (d) => process.stderr.write(`[${name}] ${d}`));
    children.push(child);
  }
  console.log(
    `fleet:sim: ${nodes} agents × ${gpus} GPUs (${hot} hot, ${flaky} flaky) → ${values.server}; state in ${dir}. Ctrl-C to stop.`,
  );
  const stop = () => {
    for (const c of children) c.kill('SIGTERM');
    setTimeout(() => process.exit(0), 6000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
