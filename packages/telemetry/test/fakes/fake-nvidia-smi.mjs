#!/usr/bin/env node
// Fake `nvidia-smi` for the collector tests. Installed as `nvidia-smi` in a temp bin dir.
//
// It answers `--help-query-gpu` and `--query-gpu=<any fields> --format=csv,noheader,nounits` from a
// fixture (test/fixtures/*.json), like the real tool: an unknown field fails the whole query with
// exit 2, values are joined with ", ", one line per GPU. Behaviour comes from the JSON file named by
// $FAKE_CONTROL, re-read on every call so a test can change it between collections:
//   fixture  path of the fixture JSON          sample  which fixture sample (idle, load)
//   hang     "all" | "query": sleep forever (SIGTERM ignored, like a process stuck in the driver)
//   exit     { code, message, rows?, help? }: print message (after the GPU lines when rows) and
//            exit with code; help: also fail --help-query-gpu
//   pidDir   a file <pid> is created there by every call, so tests can check the process is gone
//   log      every call is appended there as a JSON line { pid, args }
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const control = JSON.parse(readFileSync(process.env.FAKE_CONTROL ?? '', 'utf8'));
const args = process.argv.slice(2);
if (control.log) appendFileSync(control.log, `${JSON.stringify({ tool: 'nvidia-smi', pid: process.pid, args })}\n`);
if (control.pidDir) writeFileSync(path.join(control.pidDir, String(process.pid)), args.join(' '));

const fixture = JSON.parse(readFileSync(control.fixture, 'utf8'));
const isHelp = args.includes('--help-query-gpu');

if (control.hang === 'all' || (control.hang === 'query' && !isHelp)) {
  process.on('SIGTERM', () => {});
  const sleep = () => setTimeout(sleep, 1 << 30);
  sleep();
} else if (control.exit && (!isHelp || control.exit.help)) {
  if (control.exit.rows && !isHelp) process.stdout.write(queryOutput());
  process.stdout.write(`${control.exit.message}\n`);
  process.exitCode = control.exit.code;
} else if (isHelp) {
  const lines = ['List of valid properties to query for the switch "--query-gpu":', ''];
  for (const group of fixture.helpQueryGpu) {
    lines.push(group.map((name) => `"${name}"`).join(' or '), '(description not kept in the fixture)', '');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} else {
  process.stdout.write(queryOutput());
}

function queryOutput() {
  const query = args.find((a) => a.startsWith('--query-gpu='));
  const format = args.find((a) => a.startsWith('--format='));
  if (!query) fail(2, 'fake nvidia-smi: only --help-query-gpu and --query-gpu are supported');
  if (format !== '--format=csv,noheader,nounits') fail(2, `fake nvidia-smi: unsupported ${format}`);
  const fields = query.slice('--query-gpu='.length).split(',');
  const groups = fields.map((field) => {
    const group = fixture.helpQueryGpu.find((names) => names.includes(field));
    if (!group) fail(2, `Field "${field}" is not a valid field to query.`);
    return group;
  });
  const gpus = fixture.samples[control.sample ?? 'idle'];
  if (!gpus) fail(99, `fake nvidia-smi: fixture ${fixture.id} has no sample ${control.sample}`);
  return gpus
    .map((gpu) =>
      groups
        .map((names, i) => {
          const name = names.find((n) => n in gpu);
          if (name === undefined) fail(99, `fake nvidia-smi: fixture ${fixture.id} has no value for ${fields[i]}`);
          return gpu[name];
        })
        .join(', '),
    )
    .map((line) => `${line}\n`)
    .join('');
}

function fail(code, message) {
  process.stdout.write(`${message}\n`);
  process.exit(code);
}
