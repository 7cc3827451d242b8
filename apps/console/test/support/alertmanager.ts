/**
 * A real Alertmanager (Debian's prometheus-alertmanager, installed when missing like the other
 * real tools) on 127.0.0.1: one null receiver, its own storage dir, no cluster gossip. It can be
 * stopped and started again on the same port and storage (an outage), and is read with amtool.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findOrInstallTool, type TToolLookup } from '../../../agent/test/helpers/debian-tool';
import { freePort } from './console-process';

const run = promisify(execFile);

/** The binaries, or why the Alertmanager tests skip (the package gives both). */
export function alertmanagerTools(): { alertmanager: TToolLookup; amtool: TToolLookup } {
  const alertmanager = findOrInstallTool('prometheus-alertmanager', 'prometheus-alertmanager');
  return {
    alertmanager,
    amtool: alertmanager.skip ? alertmanager : findOrInstallTool('amtool', 'prometheus-alertmanager'),
  };
}

export type TAmAlert = {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  status: { state: string };
};

export type TAlertmanager = {
  url: string;
  /** `amtool alert query -o json` (active alerts; resolved ones are not listed), with optional matchers. */
  query(...matchers: string[]): Promise<TAmAlert[]>;
  /** A value of Alertmanager's own /metrics (alertmanager_alerts_received_total{status="resolved",…}). */
  metric(name: string, labels: Record<string, string>): Promise<number>;
  output(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
};

export async function startAlertmanager(tools: { alertmanager: string; amtool: string }): Promise<TAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'coolant-alertmanager-'));
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(config, 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let out = '';

  async function start(): Promise<void> {
    const c = spawn(
      tools.alertmanager,
      [
        `--config.file=${config}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`alertmanager exited with ${c.exitCode}:\n${out}`);
      const ready = await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`alertmanager did not become ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function stop(): Promise<void> {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }

  await start();
  return {
    url,
    async query(...matchers) {
      const { stdout } = await run(tools.amtool, [
        'alert',
        'query',
        `--alertmanager.url=${url}`,
        '-o',
        'json',
        ...matchers,
      ]);
      return JSON.parse(stdout) as TAmAlert[];
    },
    async metric(name, labels) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    },
    output: () => out,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
