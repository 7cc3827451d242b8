/**
 * The agent's enroll key: made once in its state dir (0600) and sent with every enroll attempt, so
 * an attempt whose answer was lost and the next one are the same node at the console
 * (packages/api/test/enroll-again.test.ts holds the console's side).
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Agent } from '../src/agent';
import { parseConfig, type TAgentConfig } from '../src/config';
import { AgentState } from '../src/state';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

it('is made once, kept across restarts, private to the agent, and a corrupt one is reported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coolant-enroll-key-'));
  const key = new AgentState(dir).enrollKey();
  expect(key).toMatch(/^[0-9a-f]{64}$/);
  expect(new AgentState(dir).enrollKey()).toBe(key);
  expect(statSync(join(dir, 'enroll-key')).mode & 0o777).toBe(0o600);
  writeFileSync(join(dir, 'enroll-key'), 'not a key\n');
  expect(() => new AgentState(dir).enrollKey()).toThrow(/enroll-key is corrupt; delete it/);
});

it('every enroll attempt carries the same key, the first one lost or not', async () => {
  const bodies: { enrollKey?: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(body) as { enrollKey?: string });
      // The answer lost: the console is unavailable for this attempt.
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { message: 'unavailable', code: -32603, data: { code: 'SERVICE_UNAVAILABLE' } } }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'coolant-enroll-key-'));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = parseConfig(['--server', url, '--enroll-token', 'x'.repeat(32), '--state-dir', dir], {});
    if ('help' in config || 'version' in config) throw new Error('unexpected');
    for (let i = 0; i < 2; i++) {
      // A restarted agent too: a new Agent over the same state dir.
      const agent = new Agent(config as TAgentConfig, silent);
      await expect(agent.enroll(AbortSignal.timeout(5_000))).rejects.toThrow();
    }
  } finally {
    server.close();
  }
  const stored = readFileSync(join(dir, 'enroll-key'), 'utf8').trim();
  expect(bodies).toHaveLength(2);
  expect(bodies.map((b) => b.enrollKey)).toEqual([stored, stored]);
});
