// SQLite keeps live leases in the owning process's memory: a console that restarts must load them
// back before its first decision, or it would admit past the bound the leases still hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TRunningServices } from '../src/services';
import { callerOn, createHarness, startInstance, type THarness } from './harness';

describe('generation leases across a restart (sqlite)', () => {
  let h: THarness;
  let restarted: TRunningServices | null = null;

  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(async () => {
    await restarted?.stop();
    await h.testDb.cleanup();
  });

  it('leases held before the restart still count after it; their release frees them', async () => {
    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    const token = await h.makeToken('gateway');
    await admin.tiers.create({ name: 'rs' });
    await admin.tiers.setConcurrency({ tier: 'rs', perTier: 2, perSubject: null });
    const gw = await h.caller({ authorization: token });
    const held = await Promise.all(
      ['a', 'b'].map((s) => gw.admission.consume({ tier: 'rs', subject: s, lease: { ttlSeconds: 600 } })),
    );
    expect(held.every((r) => r.allowed)).toBe(true);
    await h.services.stop();

    restarted = await startInstance(h, { db: h.db });
    const gw2 = await callerOn(restarted, token);
    expect((await gw2.admission.consume({ tier: 'rs', subject: 'c', lease: { ttlSeconds: 600 } })).reason).toBe(
      'concurrency_limit',
    );
    expect(await gw2.admission.release({ lease: held[0]!.lease!.id, outcome: 'done' })).toMatchObject({
      released: true,
    });
    expect((await gw2.admission.consume({ tier: 'rs', subject: 'c', lease: { ttlSeconds: 600 } })).allowed).toBe(true);
  });
});
