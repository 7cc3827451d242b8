/**
 * `coolant notifications` and `coolant notifications test`: parsing, and the binary against a real
 * console whose webhook points at a real HTTP receiver, then at a closed port (the failed test
 * alert is exit 1, so a deploy script can stop on it).
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startConsole, trpc, type TConsoleProcess } from '../../../apps/console/test/support/console-process';
import { parseInvocation, UsageError } from '../src/args';

const BIN = resolve(import.meta.dirname, '../bin/coolant.mjs');
const now = new Date('2026-12-02T03:00:00.000Z');
const parse = (line: string) => parseInvocation(line.split(' ').filter(Boolean), now);

function coolant(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const childEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env };
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: childEnv, cwd: join(import.meta.dirname, '..'), timeout: 60_000 },
      (error, stdout, stderr) =>
        res({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('parseInvocation: notifications', () => {
  it('shows, and tests all channels unless one is named', () => {
    expect(parse('notifications').command).toEqual({ kind: 'notifications' });
    expect(parse('notifications test').command).toEqual({ kind: 'notifications-test', channel: 'all' });
    expect(parse('notifications test webhook --json')).toEqual({
      command: { kind: 'notifications-test', channel: 'webhook' },
      json: true,
    });
  });

  it('names what is wrong', () => {
    expect(() => parse('notifications test slack')).toThrow(
      new UsageError('notifications test: channel "slack" must be alertmanager, webhook or all'),
    );
    expect(() => parse('notifications send')).toThrow(/unknown subcommand "send"/);
    expect(() => parse('notifications --reason x')).toThrow(/--reason does not apply/);
    expect(() => parse('notifications test webhook alertmanager')).toThrow(/unexpected argument "alertmanager"/);
  });
});

describe('coolant notifications against a running console', () => {
  let c: TConsoleProcess;
  let env: Record<string, string>;
  let receiver: Server;
  let hookUrl: string;
  const bodies: string[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('utf8')));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    c = await startConsole();
    env = { COOLANT_URL: c.url, COOLANT_TOKEN: c.adminToken };
  });
  afterAll(async () => {
    await c?.stop();
    await new Promise((r) => receiver?.close(r));
  });

  it('shows the channels, sends a test alert (exit 0), and a channel that fails is exit 1', async () => {
    const none = await coolant(['notifications', 'test'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no channel is configured');

    const set = await trpc(
      c.url,
      'notifications.configure',
      { alertmanager: null, webhook: { url: hookUrl, secret: 'cli-test-secret-0123456789' }, reason: 'cli test' },
      c.adminToken,
    );
    expect(set.status, set.error?.message).toBe(200);
    const shown = await coolant(['notifications'], env);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Alertmanager: not configured');
    expect(shown.stdout).toContain(`Webhook: ${hookUrl} (secret set)`);
    expect(shown.stdout).not.toContain('cli-test-secret');
    expect(shown.stdout).toContain('No alert is firing.');

    const ok = await coolant(['notifications', 'test', 'webhook'], env);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('webhook: ok (HTTP 204)');
    expect(bodies.some((b) => b.includes('CoolantTestAlert'))).toBe(true);

    const dead = `http://127.0.0.1:${await freePort()}/hook`;
    await trpc(c.url, 'notifications.configure', { alertmanager: null, webhook: { url: dead } }, c.adminToken);
    const failed = await coolant(['notifications', 'test', '--json'], env);
    expect(failed.code).toBe(1);
    const json = JSON.parse(failed.stdout) as { results: { channel: string; ok: boolean; error: string | null }[] };
    expect(json.results).toEqual([expect.objectContaining({ channel: 'webhook', ok: false })]);
    expect(json.results[0]!.error).toBeTruthy();
  });
});
