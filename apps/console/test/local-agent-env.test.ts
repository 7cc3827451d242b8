/**
 * The local agent `npm start` runs, and the collector child it forks, see an allow-list of the
 * console's environment: never its database URL, admin password or admin token (nor anything
 * else the console was given), and the collector not even the enrollment secret. Read from
 * /proc/<pid>/environ of the real processes, found below the console by parent pid.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitFor } from './support/api';
import { startConsole, type TConsoleProcess } from './support/console-process';

const ENROLL = 'local-agent-env-enroll-secret-01';
const SECRETS = [
  'DATABASE_URL',
  'COOLANT_ADMIN_PASSWORD',
  'COOLANT_ADMIN_TOKEN',
  'AWS_SECRET_ACCESS_KEY',
  'NODE_OPTIONS',
];

let c: TConsoleProcess;

function childrenOf(ppid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== ppid) continue;
      out.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ') });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function environ(pid: number): Record<string, string> {
  const pairs = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

beforeAll(async () => {
  // The collector child lives only while it takes the PCI inventory: a slow lspci keeps it there
  // long enough to be read.
  const bin = mkdtempSync(join(tmpdir(), 'coolant-env-bin-'));
  writeFileSync(join(bin, 'lspci'), '#!/bin/sh\nsleep 3\n');
  chmodSync(join(bin, 'lspci'), 0o755);
  c = await startConsole({
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      COOLANT_LOCAL_AGENT: 'true',
      COOLANT_ENROLL_TOKEN: ENROLL,
      // A SQLite URL stands for any database URL: the variable itself must not travel.
      DATABASE_URL: `file:${join(process.env.TMPDIR ?? '/tmp', `coolant-env-${process.pid}.db`)}`,
      AWS_SECRET_ACCESS_KEY: 'an-unrelated-secret-of-the-console-host',
      // A heap limit of the console's; an --inspect port here would make the agent fight for it.
      NODE_OPTIONS: '--max-old-space-size=1536',
      LC_ALL: 'C.UTF-8',
    },
  });
});

afterAll(async () => {
  await c?.stop();
});

test('the local agent and its collector child get neither the database URL, the admin password nor the admin token', async () => {
  // The console server is the process startConsole started (start.mjs runs the bundle in-process).
  const agent = await waitFor(
    'the local agent',
    async () => childrenOf(c.child.pid!).find((p) => p.cmd.includes('coolant-agent')) ?? null,
    60_000,
  );
  // The collector child is forked for the inventory at the agent's first collection; read at once.
  const collectorEnv = await waitFor(
    'its collector child',
    async () => {
      const child = childrenOf(agent.pid).find((p) => p.cmd.includes('coolant-agent'));
      if (!child) return null;
      // Between fork and execve a child's /proc entry still shows its parent's cmdline and
      // environment; only the environment the agent passed to exec names the role, so wait for it.
      const env = environ(child.pid);
      return env.COOLANT_AGENT_ROLE ? env : null;
    },
    60_000,
    20,
  );
  expect(agent.cmd).toContain('dist/agent/coolant-agent.mjs');
  expect(agent.cmd).not.toMatch(/tsx/);

  const consoleEnv = environ(c.child.pid!);
  for (const name of SECRETS) expect(consoleEnv[name], `the console itself has ${name}`).toBeDefined();

  const agentEnv = environ(agent.pid);
  for (const name of SECRETS) {
    expect(agentEnv[name], `local agent has ${name}`).toBeUndefined();
    expect(collectorEnv[name], `collector child has ${name}`).toBeUndefined();
  }
  // What the agent needs is there; the collector has no use for the enrollment secret.
  expect(agentEnv.COOLANT_ENROLL_TOKEN).toBe(ENROLL);
  expect(agentEnv.PATH).toBe(consoleEnv.PATH);
  expect(agentEnv.LC_ALL).toBe('C.UTF-8');
  expect(collectorEnv.COOLANT_ENROLL_TOKEN).toBeUndefined();
  expect(collectorEnv.COOLANT_AGENT_ROLE).toBe('collector');
  expect(collectorEnv.PATH).toBe(consoleEnv.PATH);
});
