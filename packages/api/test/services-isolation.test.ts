/**
 * Two services objects in one process (two test servers, a benchmark beside a server) share no
 * state: the credential cache, the "last used" throttle and the offline threshold belong to each.
 * Both tests failed while these lived in module variables.
 */
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

describe.each(TEST_PROVIDERS)('two services objects in one process (%s)', (provider) => {
  const T0 = Date.parse('2026-11-27T12:00:00Z');
  let clock = T0;
  let a: THarness;
  let b: THarness;
  beforeAll(async () => {
    a = await createHarness(provider, { now: () => new Date(clock), offlineAfterMs: 60_000 });
    b = await createHarness(provider, { now: () => new Date(clock) });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("a credential cached by one server is not the other's: B does not know A's token", async () => {
    const token = await a.makeToken('admin');
    await (await a.caller({ authorization: token })).tokens.list();
    expect(a.services.credentials).not.toBe(b.services.credentials);
    await expect((await b.caller({ authorization: token })).tokens.list()).rejects.toThrow(/Unknown token/);
    // And a revocation in A is refused in A at once, whatever B holds.
    const other = await a.makeToken('viewer');
    await (await a.caller({ authorization: other })).fleet.list();
    const row = await a.db.apiToken.findFirstOrThrow({ where: { name: 't-viewer' } });
    await (await a.caller({ authorization: token })).tokens.revoke({ id: row.id });
    await expect((await a.caller({ authorization: other })).fleet.list()).rejects.toThrow(/revoked/);
  });

  it('each server judges offline by its own threshold', async () => {
    clock = T0;
    for (const h of [a, b]) {
      const { token } = await h.makeNodeToken('gpu-threshold');
      await (
        await h.caller({ authorization: token })
      ).agent.report({ intervalSeconds: 5, agentVersion: '0.1.0', samples: [sample(1, [gpu(0)], new Date(clock))] });
    }
    clock = T0 + 90_000;
    const status = async (h: THarness) => {
      const admin = await h.caller({ authorization: await h.makeToken('admin') });
      return (await admin.fleet.list()).nodes.find((n) => n.hostname === 'gpu-threshold')?.status;
    };
    expect(await status(a)).toBe('offline');
    expect(await status(b)).toBe('stale');
  });
});
