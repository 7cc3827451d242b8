#!/usr/bin/env node
// The memory of what `npm start` leaves running: every process of the tree below the command,
// with its PSS (shared pages counted once across the tree, from /proc/<pid>/smaps_rollup), once
// the console has answered /api/health and the local agent has reported for a while.
// It also lists any process whose command line names tsx (the goal: none at run time).
//
//   node bench/lib/start-footprint.mjs [--warm 30] [-- command args…]   (default: node scripts/start.mjs)
import { CONSOLE_NODE_ARGS } from '../../scripts/lib/console-node-args.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const command =
  dash >= 0 ? argv.slice(dash + 1) : [process.execPath, ...CONSOLE_NODE_ARGS, join(ROOT, 'scripts/start.mjs')];
const warmIdx = argv.indexOf('--warm');
const warmSeconds = warmIdx >= 0 && (dash < 0 || warmIdx < dash) ? Number(argv[warmIdx + 1]) : 30;

const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = s.address();
    s.close(() => res(free));
  });
});
const dataDir = mkdtempSync(join(tmpdir(), 'coolant-footprint-'));

function processes() {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(name), ppid, cmd });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function tree(rootPid) {
  const all = processes();
  const found = all.filter((p) => p.pid === rootPid);
  for (let frontier = [rootPid]; frontier.length;) {
    const next = all.filter((p) => frontier.includes(p.ppid));
    found.push(...next);
    frontier = next.map((p) => p.pid);
  }
  return found;
}

function pssKiB(pid) {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const child = spawn(command[0], command.slice(1), {
  cwd: ROOT,
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    COOLANT_DATA_DIR: dataDir,
    DATABASE_URL: '',
    COOLANT_LOCAL_AGENT: 'true',
    NODE_ENV: 'production',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let log = '';
child.stdout.on('data', (d) => (log += d));
child.stderr.on('data', (d) => (log += d));
try {
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`not healthy within 10 minutes:\n${log}`);
    const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  // Some page loads, as an operator's first visit does, then the warm-up.
  for (const path of ['/', '/login', '/fleet']) await fetch(`http://127.0.0.1:${port}${path}`).catch(() => {});
  await new Promise((r) => setTimeout(r, warmSeconds * 1000));
  const rows = tree(child.pid).map((p) => ({ ...p, pssKiB: pssKiB(p.pid) }));
  const mb = (kib) => (kib / 1024).toFixed(1);
  console.log('| pid | ppid | PSS MB | command |\n|---|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.pid} | ${r.ppid} | ${mb(r.pssKiB)} | ${r.cmd.replace(ROOT + '/', '').slice(0, 110)} |`);
  const server = rows.reduce((a, b) => (b.pssKiB > a.pssKiB ? b : a));
  const rest = rows.filter((r) => r !== server).reduce((s, r) => s + r.pssKiB, 0);
  console.log(
    `\nconsole server (largest) ${mb(server.pssKiB)} MB; everything else ${mb(rest)} MB in ${rows.length - 1} processes; total ${mb(server.pssKiB + rest)} MB`,
  );
  const tsx = rows.filter((r) => /\btsx\b/.test(r.cmd));
  console.log(tsx.length ? `tsx processes: ${tsx.map((r) => r.pid).join(', ')}` : 'no tsx process in the tree');
  console.log(`\n${log.split('\n').slice(0, 8).join('\n')}`);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  rmSync(dataDir, { recursive: true, force: true });
}
