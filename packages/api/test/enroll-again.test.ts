/**
 * An enrollment retried with the same enroll key (its first answer lost to a timeout) finds the node
 * the first attempt created: one node, one token, concurrent attempts included. Without a key (older
 * agents) every attempt is a node, as before. A revoked node is not brought back by its key.
 */
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type THarness } from './harness';

const key = (c: string) => c.repeat(64);

describe.each(TEST_PROVIDERS)('enrollment retried with its enroll key (%s)', (provider) => {
  let h: THarness;
  let admin: Awaited<ReturnType<THarness['caller']>>;
  let enrollToken = '';
  const anonymous = () => h.caller({});
  beforeAll(async () => {
    h = await createHarness(provider);
    admin = await h.caller({ authorization: await h.makeToken('admin') });
    ({ enrollToken } = await admin.system.enrollment());
  });
  afterAll(() => h.close());
  const nodes = (hostname: string) => h.db.node.count({ where: { hostname } });

  it('a second attempt with the same key answers the same node and token, and the token works', async () => {
    const a = await (await anonymous()).agent.enroll({ enrollToken, hostname: 'again-1', enrollKey: key('a') });
    const b = await (await anonymous()).agent.enroll({ enrollToken, hostname: 'again-1', enrollKey: key('a') });
    expect(b).toEqual(a);
    expect(await nodes('again-1')).toBe(1);
    const node = await h.caller({ authorization: `Bearer ${b.nodeToken}` });
    expect(await node.agent.sequence()).toEqual({ acceptedUpTo: 0 });
  });

  it('20 concurrent attempts with one key make one node and all answer its token', async () => {
    const caller = await anonymous();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        caller.agent.enroll({ enrollToken, hostname: 'again-burst', enrollKey: key('b') }),
      ),
    );
    expect(new Set(answers.map((r) => r.nodeId)).size).toBe(1);
    expect(new Set(answers.map((r) => r.nodeToken)).size).toBe(1);
    expect(await nodes('again-burst')).toBe(1);
  });

  it('without a key every attempt is a node of its own; different keys are different nodes', async () => {
    const caller = await anonymous();
    await caller.agent.enroll({ enrollToken, hostname: 'again-nokey' });
    await caller.agent.enroll({ enrollToken, hostname: 'again-nokey' });
    expect(await nodes('again-nokey')).toBe(2);
    await caller.agent.enroll({ enrollToken, hostname: 'again-keys', enrollKey: key('c') });
    await caller.agent.enroll({ enrollToken, hostname: 'again-keys', enrollKey: key('d') });
    expect(await nodes('again-keys')).toBe(2);
  });

  it('a revoked node stays revoked: its key is refused with the way out', async () => {
    const caller = await anonymous();
    const { nodeId } = await caller.agent.enroll({ enrollToken, hostname: 'again-revoked', enrollKey: key('e') });
    await admin.fleet.revokeNode({ id: nodeId, reason: 'test' });
    await expect(caller.agent.enroll({ enrollToken, hostname: 'again-revoked', enrollKey: key('e') })).rejects.toThrow(
      /revoked by an admin.*delete the agent's state dir/,
    );
    expect(await nodes('again-revoked')).toBe(1);
  });

  it('after the enrollment secret is rotated the same key gets the same node with a new token; the old one is refused', async () => {
    const caller = await anonymous();
    const first = await caller.agent.enroll({ enrollToken, hostname: 'again-rotated', enrollKey: key('f') });
    ({ enrollToken } = await admin.system.rotateEnrollment());
    const second = await caller.agent.enroll({ enrollToken, hostname: 'again-rotated', enrollKey: key('f') });
    expect(second.nodeId).toBe(first.nodeId);
    expect(second.nodeToken).not.toBe(first.nodeToken);
    await expect(
      h.caller({ authorization: `Bearer ${first.nodeToken}` }).then((c) => c.agent.sequence()),
    ).rejects.toThrow();
    expect(await (await h.caller({ authorization: `Bearer ${second.nodeToken}` })).agent.sequence()).toEqual({
      acceptedUpTo: 0,
    });
  });

  it('a short key is refused naming enrollKey', async () => {
    await expect(
      (await anonymous()).agent.enroll({ enrollToken, hostname: 'again-short', enrollKey: 'short' }),
    ).rejects.toThrow(/enrollKey/);
  });
});
