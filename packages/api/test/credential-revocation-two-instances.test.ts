// A credential cached by one console instance stops working there as soon as another instance
// revokes or replaces it, though the cache would keep it for a minute: whatever ends a credential
// commits with a config-version bump, and each instance clears its cache when it applies that
// version. Two services objects sharing one PostgreSQL database, as two consoles do.
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIAL_CACHE_MS } from '../src/domain/auth/credential-cache';
import type { TRunningServices } from '../src/services';
import { callerOn, createHarness, startInstance, type THarness } from './harness';
import { gpu, sample } from './samples';

const describePg = TEST_PROVIDERS.includes('postgresql') ? describe : describe.skip;

describePg('a revocation on one instance reaches the credential cache of the other', () => {
  let h: THarness;
  let second: TRunningServices;

  beforeAll(async () => {
    h = await createHarness('postgresql');
    second = await startInstance(h);
  });
  afterAll(async () => {
    await second.stop();
    await second.db.$disconnect();
    await h.close();
  });

  /** Polls until `call` is refused; how long it took (the cache alone would take CREDENTIAL_CACHE_MS). */
  async function refusedWithin(call: () => Promise<unknown>, pattern: RegExp): Promise<number> {
    const started = Date.now();
    for (;;) {
      const outcome = await call().then(
        () => null,
        (e: Error) => e,
      );
      if (outcome) {
        expect(outcome.message).toMatch(pattern);
        return Date.now() - started;
      }
      if (Date.now() - started > 10_000) throw new Error('still accepted 10 s after the revocation');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('an API token revoked on the first instance', async () => {
    expect(CREDENTIAL_CACHE_MS).toBeGreaterThan(10_000);
    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    const viewer = await h.makeToken('viewer');
    // Cached on the second instance.
    await (await callerOn(second, viewer)).fleet.list();
    const row = await h.db.apiToken.findFirstOrThrow({ where: { name: 't-viewer' } });
    await admin.tokens.revoke({ id: row.id });
    const ms = await refusedWithin(async () => (await callerOn(second, viewer)).fleet.list(), /revoked/);
    console.log(`[revocation] API token refused on the other instance after ${ms} ms`);
  });

  it('a node token replaced by enrolling again after the secret was rotated', async () => {
    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    const anon = await h.caller({});
    const enrollKey = 'k'.repeat(64);
    let { enrollToken } = await admin.system.enrollment();
    const first = await anon.agent.enroll({ enrollToken, hostname: 'two-instances', enrollKey });
    let seq = 0;
    const report = async (token: string) =>
      (await callerOn(second, `Bearer ${token}`)).agent.report({
        intervalSeconds: 5,
        samples: [sample(++seq, [gpu(0)], new Date())],
      });
    await report(first.nodeToken);
    ({ enrollToken } = await admin.system.rotateEnrollment());
    const again = await anon.agent.enroll({ enrollToken, hostname: 'two-instances', enrollKey });
    expect(again.nodeId).toBe(first.nodeId);
    expect(again.nodeToken).not.toBe(first.nodeToken);
    const ms = await refusedWithin(() => report(first.nodeToken), /Unknown token/);
    console.log(`[revocation] replaced node token refused on the other instance after ${ms} ms`);
    await report(again.nodeToken);
  });
});
