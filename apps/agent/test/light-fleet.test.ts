/**
 * The light fleet simulation (`npm run fleet:sim -- --light`) against a real console process: its
 * bundle starts with plain node, every simulated node enrolls and reports through its own spool and
 * sender, the spools end empty, and a smoke job reaches one sim node's job loop, is drawn there and
 * matches the console's reference.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Spool } from '@coolant/telemetry';
import { startConsole, trpc, type TConsoleProcess } from '../../console/test/support/console-process';

const ROOT = resolve(import.meta.dirname, '../../..');
const ENROLL = 'light-fleet-enroll-token-0123456789';
const NODES = 50;
const GPUS = 8;

type TNode = { id: string; hostname: string; status: string; gpus: unknown[]; lastSeenAt: string | null };
type TRun = { id: string; state: string; match: boolean | null; reason: string | null; hostname: string | null };

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('fleet:sim --light', () => {
  let c: TConsoleProcess;
  let sim: ChildProcess | null = null;
  beforeAll(async () => {
    c = await startConsole({ env: { COOLANT_ENROLL_TOKEN: ENROLL } });
  }, 240_000);
  afterAll(async () => {
    sim?.kill('SIGTERM');
    await c?.stop();
  });

  it(`${NODES} sim nodes in one process report, drain their spools, and one passes a smoke job`, async () => {
    const build = spawnSync(process.execPath, [join(ROOT, 'scripts/fleet-sim/build-light.mjs')], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const bundle = build.stdout.trim();
    const stateDir = mkdtempSync(join(tmpdir(), 'coolant-light-fleet-'));
    // Plain node on the bundle: nothing compiles TypeScript in the sim's process.
    const child = spawn(
      process.execPath,
      [
        bundle,
        '--server',
        c.url,
        '--enroll-token',
        ENROLL,
        '--nodes',
        String(NODES),
        '--gpus',
        String(GPUS),
        '--hot',
        '2',
        '--flaky',
        '0',
        '--prefix',
        'lite',
        '--state-dir',
        stateDir,
        '--duration',
        '15',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    sim = child;
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));

    // Enrollment is spread over one interval (5 s); all nodes are online with 8 GPUs soon after.
    const nodes = await waitFor('every sim node online with its GPUs', async () => {
      const r = await trpc<{ nodes: TNode[] }>(c.url, 'fleet.list', undefined, c.adminToken, 'GET');
      const sims = r.data.nodes.filter((n) => n.hostname.startsWith('lite-'));
      return sims.length === NODES && sims.every((n) => n.status === 'online' && n.gpus.length === GPUS) ? sims : null;
    });
    expect(new Set(nodes.map((n) => n.hostname)).size).toBe(NODES);

    const target = nodes.find((n) => n.hostname === 'lite-007')!;
    const res = await trpc<{ runs: TRun[] }>(
      c.url,
      'smoke.run',
      { target: target.id, prompt: 'LIGHT OK', seed: 3 },
      c.adminToken,
    );
    expect(res.error).toBeNull();
    const done = await waitFor('the smoke job result', async () => {
      const r = await trpc<TRun>(c.url, 'smoke.get', { id: res.data.runs[0]!.id }, c.adminToken, 'GET');
      return r.data.state === 'passed' || r.data.state === 'failed' ? r.data : null;
    });
    expect(done).toMatchObject({ state: 'passed', match: true, hostname: 'lite-007' });

    // --duration: stops, sends what the spools still hold, exits 0 only when all are empty.
    expect(await exited, out).toBe(0);
    sim = null;
    const summary =
      /stopped after [\d.]+ s: (\d+) reports delivered by (\d+)\/(\d+) nodes, (\d+) left in spools, (\d+) nodes with errors/.exec(
        out,
      );
    expect(summary, out).not.toBeNull();
    const [, delivered, reporting, , left, errors] = summary!.map(Number);
    expect({ reporting, left, errors }).toEqual({ reporting: NODES, left: 0, errors: 0 });
    expect(delivered).toBeGreaterThanOrEqual(NODES * 2);

    // Each node's own spool on disk, opened again: empty, numbered on from what it delivered.
    for (const n of nodes) {
      const spool = await Spool.open({ dir: join(stateDir, n.hostname, 'spool') });
      const stats = spool.stats();
      await spool.close();
      expect({ host: n.hostname, records: stats.records, sent: stats.nextSeq > 2 }).toEqual({
        host: n.hostname,
        records: 0,
        sent: true,
      });
    }
  }, 90_000);
});
