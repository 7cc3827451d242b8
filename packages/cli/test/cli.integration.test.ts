/**
 * The CLI binary against a real console (scripts/start.mjs, throwaway SQLite):
 * the pause drill an operator runs, and every way a call can fail.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startConsole, trpc, type TConsoleProcess } from '../../../apps/console/test/support/console-process';

const BIN = resolve(import.meta.dirname, '../bin/coolant.mjs');

type TRun = { code: number; stdout: string; stderr: string };

function coolant(args: string[], env: Record<string, string>): Promise<TRun> {
  return new Promise((res) => {
    // A clean environment: nothing from the developer's shell (their COOLANT_TOKEN) leaks in.
    const childEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env };
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: childEnv, cwd: join(import.meta.dirname, '..'), timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        res({ code, stdout, stderr });
      },
    );
  });
}

describe('coolant CLI against a running console', () => {
  let c: TConsoleProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    c = await startConsole();
    env = { COOLANT_URL: c.url, COOLANT_TOKEN: c.adminToken };
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('drill: dry by default, --live pauses and resumes the tier; prints the three figures', async () => {
    // A short interval: the drill waits for the deciding instance's next evaluation.
    const get = await trpc<{ config: Record<string, unknown> }>(c.url, 'guard.get', undefined, c.adminToken, 'GET');
    await trpc(c.url, 'guard.update', { config: { ...get.data.config, intervalSeconds: 1 } }, c.adminToken);
    await trpc(c.url, 'tiers.create', { name: 'cli-drill' }, c.adminToken);
    const dry = await coolant(['drill'], env);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^Guard drill \S+ \(dry run: nothing paused\): done/);
    expect(dry.stdout).toMatch(/trigger → decision\s+\d+ ms/);
    expect(dry.stdout).toMatch(/trigger → applied on every instance\s+\d+ ms\s+1 instance/);
    const live = await coolant(['drill', '--live', '--tier', 'cli-drill', '--json'], env);
    expect(live.code).toBe(0);
    expect(JSON.parse(live.stdout)).toMatchObject({ state: 'done', live: true, tier: 'cli-drill', instances: 1 });
    const tiers = await trpc<{ tiers: { name: string; paused: boolean }[] }>(
      c.url,
      'tiers.list',
      undefined,
      c.adminToken,
      'GET',
    );
    expect(tiers.data.tiers.find((t) => t.name === 'cli-drill')!.paused).toBe(false);
  });

  it('pause with --until, status shows it, consume is denied with tier_paused, resume lets it through', async () => {
    const before = Date.now();
    const paused = await coolant(['pause', 'free', '--reason', 'cli drill', '--until', '2h'], env);
    expect(paused.stderr).toBe('');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(
      /^Paused tier free \(config v\d+\): every request is refused; auto-resume 20\d\d-.*Z \((in 1h 59m \d+s|in 2h 0m 0s)\)\./,
    );
    expect(paused.stdout).toMatch(/applied by all 1 instance at \d\d:\d\d:\d\d\.\d{3}Z \(\+\d+ ms after issue\)/);

    const status = await coolant(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^free\s+PAUSED\s+closed\s+—\s+—\s+3\s/m);
    expect(status.stdout).toMatch(/^plus\s+serving\s+open/m);
    expect(status.stdout).toContain('PAUSED free since ');
    expect(status.stdout).toContain('by COOLANT_ADMIN_TOKEN: "cli drill"');
    expect(status.stdout).toMatch(/auto-resume 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 1h 59m/);
    expect(status.stdout).toMatch(/^INSTANCE\s+HOST\s+PID\s+CONFIG\s+HEARTBEAT$/m);

    const json = await coolant(['status', '--json'], env);
    const data = JSON.parse(json.stdout) as {
      tiers: { name: string; paused: boolean; pause: { reason: string; resumeAt: string } | null }[];
    };
    const free = data.tiers.find((t) => t.name === 'free')!;
    expect(free.paused).toBe(true);
    expect(free.pause!.reason).toBe('cli drill');
    const resumeAt = Date.parse(free.pause!.resumeAt);
    expect(resumeAt).toBeGreaterThanOrEqual(before + 2 * 3600_000);
    expect(resumeAt).toBeLessThan(Date.now() + 2 * 3600_000);

    const denied = await coolant(['consume', 'free', 'alice'], env);
    expect(denied.code).toBe(3);
    expect(denied.stdout).toMatch(/^DENIED free\/alice: tier_paused: "cli drill"; retry after \d+ s$/m);
    const deniedJson = await coolant(['consume', 'free', 'alice', '--json'], env);
    expect(deniedJson.code).toBe(3);
    expect(JSON.parse(deniedJson.stdout)).toMatchObject({
      allowed: false,
      reason: 'tier_paused',
      pauseReason: 'cli drill',
    });

    const resumed = await coolant(['resume', 'free', '--reason', 'drill over'], env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^Resumed tier free \(config v\d+\)\.$/m);

    const allowed = await coolant(['consume', 'free', 'alice', '--cost', '2'], env);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/^ALLOWED free\/alice: 1 of 3 left this day/m);
    const after = await coolant(['status'], env);
    expect(after.stdout).toMatch(/^free\s+serving/m);
    expect(after.stdout).not.toContain('PAUSED free');

    // The audit log has both, with their reasons.
    const audit = await trpc<{ events: { action: string; reason: string | null }[] }>(
      c.url,
      'audit.list',
      { limit: 20, action: 'tier.' },
      c.adminToken,
      'GET',
    );
    expect(audit.data.events.map((e) => [e.action, e.reason])).toEqual(
      expect.arrayContaining([
        ['tier.pause', 'cli drill'],
        ['tier.resume', 'drill over'],
      ]),
    );
  });

  it('sets, temporarily lowers and restores limits', async () => {
    expect((await coolant(['limits', 'set', 'pro', 'hour', '200', '--reason', 'launch'], env)).stdout).toMatch(
      /Base hour limit of pro: none → 200/,
    );
    const temp = await coolant(['limits', 'temp', 'pro', 'hour', '50', '--until', '90m', '--reason', 'capacity'], env);
    expect(temp.code).toBe(0);
    expect(temp.stdout).toMatch(/Temporary hour limit of pro: 50 until .*Z \(1h (29m 5\d|30m 0)s from now\)/);
    const status = await coolant(['status'], env);
    expect(status.stdout).toMatch(/^pro\s+serving\s+open\s+—\s+50 temp \(base 200\)\s+—/m);
    expect(status.stdout).toMatch(/TEMPORARY pro per hour: 50 until .* by COOLANT_ADMIN_TOKEN: "capacity"/);
    expect((await coolant(['limits', 'clear-temp', 'pro', 'hour'], env)).code).toBe(0);
    expect((await coolant(['limits', 'set', 'pro', 'hour', 'none'], env)).stdout).toMatch(/200 → none/);
  });

  it('a tier-wide limit (--scope tier) beside the per-subject one, and concurrency bounds, shown by status', async () => {
    const set = await coolant(
      ['limits', 'set', 'free', 'minute', '2000', '--scope', 'tier', '--reason', 'launch'],
      env,
    );
    expect(set.stderr).toBe('');
    expect(set.stdout).toMatch(
      /^Base minute limit of free \(tier-wide: all subjects together\): none → 2000 \(config v\d+\)\.$/m,
    );
    const conc = await coolant(
      ['concurrency', 'set', 'free', '--per-subject', '1', '--per-tier', '400', '--reason', 'launch'],
      env,
    );
    expect(conc.stderr).toBe('');
    expect(conc.stdout).toMatch(
      /^Generations in flight for free: unbounded → 1 per subject, 400 for the tier \(config v\d+\)\.$/m,
    );
    const status = await coolant(['status'], env);
    expect(status.stdout).toMatch(
      /^TIER\s+STATE\s+FAILS\s+PER MINUTE\s+PER HOUR\s+PER DAY\s+CONCURRENCY\s+LAST HOUR$/m,
    );
    expect(status.stdout).toMatch(/^free\s+serving\s+closed\s+— · tier 2000\s+—\s+3\s+1\/subject · 400\/tier\s/m);
    const json = JSON.parse((await coolant(['status', '--json'], env)).stdout) as {
      tiers: { name: string; limits: { window: string; scope: string; base: number | null }[]; concurrency: unknown }[];
    };
    const free = json.tiers.find((t) => t.name === 'free')!;
    expect(free.limits).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ window: 'minute', scope: 'tier', base: 2000 }),
        expect.objectContaining({ window: 'day', scope: 'subject', base: 3 }),
      ]),
    );
    expect(free.concurrency).toEqual({ perTier: 400, perSubject: 1 });
    expect((await coolant(['concurrency', 'set', 'free', '--per-tier', 'none'], env)).stdout).toMatch(
      /1 per subject, 400 for the tier → 1 per subject, unbounded for the tier/,
    );
    const audit = await trpc<{ events: { action: string; reason: string | null; details: unknown }[] }>(
      c.url,
      'audit.list',
      { limit: 10, target: 'free', action: 'tier.set_' },
      c.adminToken,
      'GET',
    );
    expect(audit.data.events.map((e) => [e.action, e.reason])).toEqual(
      expect.arrayContaining([
        ['tier.set_limit', 'launch'],
        ['tier.set_concurrency', 'launch'],
        ['tier.set_concurrency', null],
      ]),
    );
    expect((await coolant(['limits', 'set', 'free', 'minute', 'none', '--scope', 'tier'], env)).stdout).toMatch(
      /2000 → none/,
    );
    expect((await coolant(['concurrency', 'set', 'free', '--per-subject', 'none'], env)).code).toBe(0);
    // The console names a bad bound; the CLI's own check comes first for what it can see.
    expect(await coolant(['concurrency', 'set', 'free', '--per-tier', '0'], env)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^coolant: --per-tier: 0 must be between 1 and 1000000/),
    });
    expect(await coolant(['concurrency', 'set', 'nope', '--per-tier', '3'], env)).toMatchObject({
      code: 1,
      stderr: 'coolant: 404 NOT_FOUND: tier: no tier named "nope"\n',
    });
  });

  it('capacity: the table, and reserve changes one share, the others unchanged, audited', async () => {
    await trpc(
      c.url,
      'capacity.configure',
      {
        enabled: true,
        shares: [
          { tier: 'pro', priority: 2, reserved: 0.5 },
          { tier: 'free', priority: 0, reserved: 0.12 },
        ],
        reason: 'setup',
      },
      c.adminToken,
    );
    const shown = await coolant(['capacity'], env);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    // No agent reports here: capacity is unknown and the failMode decides.
    expect(shown.stdout).toMatch(/^Capacity admission: UNKNOWN \(no node has ever reported\)/);
    expect(shown.stdout).toMatch(/^TIER\s+PRIORITY\s+RESERVED\s+SLOTS\s+IN FLIGHT\s+BORROWED\s+EXPIRED$/m);
    expect(shown.stdout).toMatch(/^pro\s+2\s+50 %\s+0\s+0\s+0\s+0$/m);
    expect(shown.stdout).toMatch(/^free\s+0\s+12 %\s+0\s+0\s+0\s+0$/m);

    const reserved = await coolant(['capacity', 'reserve', 'free', '10%', '--reason', 'launch'], env);
    expect(reserved.stderr).toBe('');
    expect(reserved.stdout).toMatch(
      /^Reserved 10 % of capacity for free \(was 12 %\): 0 of 0 slots now \(config v\d+\)\.$/m,
    );
    const after = await coolant(['capacity', '--json'], env);
    const data = JSON.parse(after.stdout) as { tiers: { tier: string; priority: number; reserved: number }[] };
    expect(data.tiers.find((t) => t.tier === 'free')).toMatchObject({ priority: 0, reserved: 0.1 });
    expect(data.tiers.find((t) => t.tier === 'pro')).toMatchObject({ priority: 2, reserved: 0.5 });
    const audit = await trpc<{ events: { action: string; reason: string | null }[] }>(
      c.url,
      'audit.list',
      { limit: 5, action: 'capacity.' },
      c.adminToken,
      'GET',
    );
    expect(audit.data.events[0]).toMatchObject({ action: 'capacity.configure', reason: 'launch' });

    // As the issue writes it, no reason: accepted, audited without one.
    const plain = await coolant(['capacity', 'reserve', 'free', '15%'], env);
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    expect(plain.stdout).toMatch(/^Reserved 15 % of capacity for free \(was 10 %\)/m);
    const audit2 = await trpc<{ events: { action: string; reason: string | null }[] }>(
      c.url,
      'audit.list',
      { limit: 1, action: 'capacity.' },
      c.adminToken,
      'GET',
    );
    expect(audit2.data.events[0]).toMatchObject({ action: 'capacity.configure', reason: null });

    // Only free's reservation is sent (a merge): the console counts pro's 50 % it did not send.
    const over = await coolant(['capacity', 'reserve', 'free', '60%', '--reason', 'x'], env);
    expect(over).toMatchObject({
      code: 1,
      stderr:
        "coolant: 400 BAD_REQUEST: shares: with the other tiers' reservations the total would be 110 %, more than 100 %\n",
    });
    const unknown = await coolant(['capacity', 'reserve', 'nope', '5%', '--reason', 'x'], env);
    expect(unknown).toMatchObject({
      code: 1,
      stderr: 'coolant: 400 BAD_REQUEST: shares: no such tier (or retired): nope\n',
    });
  });

  it('fails with a one-line message and a non-zero status', async () => {
    // A viewer's token: the server's 403 message, verbatim.
    const created = await trpc<{ secret: string }>(
      c.url,
      'tokens.create',
      { name: 'cli-viewer', role: 'viewer' },
      c.adminToken,
    );
    const viewer = await coolant(['pause', 'free', '--reason', 'x'], {
      COOLANT_URL: c.url,
      COOLANT_TOKEN: created.data.secret,
    });
    expect(viewer).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'coolant: 403 FORBIDDEN: This needs the operator role; you are viewer\n',
    });
    // ...who may still look.
    expect((await coolant(['status'], { COOLANT_URL: c.url, COOLANT_TOKEN: created.data.secret })).code).toBe(0);

    const noToken = await coolant(['status'], { COOLANT_URL: c.url });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/^coolant: 401 UNAUTHORIZED: .*\(set COOLANT_TOKEN .*\)\n$/);
    const badToken = await coolant(['status'], { COOLANT_URL: c.url, COOLANT_TOKEN: 'ct_not-a-real-token' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/^coolant: 401 UNAUTHORIZED: [^\n]+\n$/);

    const port = await freePort();
    const unreachable = await coolant(['status'], { COOLANT_URL: `http://127.0.0.1:${port}`, COOLANT_TOKEN: 'x' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(
      `coolant: cannot reach the console at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (is it running? COOLANT_URL)\n`,
    );
    const unreachableJson = await coolant(['status', '--json'], { COOLANT_URL: `http://127.0.0.1:${port}` });
    expect(JSON.parse(unreachableJson.stdout)).toMatchObject({ error: { code: 'UNREACHABLE' } });

    // The server's validation error names the field.
    const badTier = await coolant(['pause', 'Free!', '--reason', 'x'], env);
    expect(badTier).toMatchObject({
      code: 1,
      stderr: 'coolant: 400 BAD_REQUEST: tier: lowercase letters, digits, - and _\n',
    });
    const unknownTier = await coolant(['resume', 'nope'], env);
    expect(unknownTier).toMatchObject({ code: 1, stderr: 'coolant: 404 NOT_FOUND: tier: no tier named "nope"\n' });
    const notPaused = await coolant(['resume', 'plus'], env);
    expect(notPaused).toMatchObject({ code: 1, stderr: 'coolant: 409 CONFLICT: tier "plus" is not paused\n' });

    // Usage errors are caught before any request.
    const missingReason = await coolant(['pause', 'free'], env);
    expect(missingReason.code).toBe(2);
    expect(missingReason.stderr).toMatch(/^coolant: pause: --reason is required/);
    const unknown = await coolant(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^coolant: unknown command "frobnicate"\n\ncoolant — operate a Coolant console/);
    expect(unknown.stderr).toContain('coolant pause <tier> --reason TEXT');
    const badUrl = await coolant(['status'], { COOLANT_URL: 'console:3000' });
    expect(badUrl).toMatchObject({
      code: 2,
      stderr: 'coolant: COOLANT_URL: must be an http(s) URL, e.g. http://localhost:3000\n',
    });
  });
});
