/**
 * Node.host, Node.health and GpuState.throttleReasons are read through the telemetry schemas: a
 * row that does not match (an older console's, a damaged one) is named in `dataProblems` on the
 * fleet views, and alert evaluation treats it as unknown instead of crashing or guessing.
 */
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_RULES, readStoredAlertRules } from '../src/domain/fleet/alerts';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

describe.each(TEST_PROVIDERS)('stored telemetry JSON (%s)', (provider) => {
  let h: THarness;
  beforeAll(async () => {
    h = await createHarness(provider);
  });
  afterAll(() => h.close());

  it('a good row reads with no problems; a bad one is named, column and field, on list and node', async () => {
    const { nodeId, token } = await h.makeNodeToken('gpu-json');
    const agent = await h.caller({ authorization: token });
    await agent.agent.report({ intervalSeconds: 5, agentVersion: '0.1.0', samples: [sample(1, [gpu(0)], new Date())] });
    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    const good = (await admin.fleet.list()).nodes.find((n) => n.id === nodeId)!;
    expect(good.dataProblems).toEqual([]);
    expect(good.collector).not.toBeNull();
    expect((await admin.fleet.node({ id: nodeId })).dataProblems).toEqual([]);

    const health = JSON.parse((await h.db.node.findUniqueOrThrow({ where: { id: nodeId } })).health!);
    health.nvidiaSmi.status = 'exploded';
    await h.db.node.update({ where: { id: nodeId }, data: { health: JSON.stringify(health), host: '{not json' } });
    await h.db.gpuState.updateMany({ where: { nodeId }, data: { throttleReasons: '{"raw":"zz","names":[]}' } });

    const bad = (await admin.fleet.list()).nodes.find((n) => n.id === nodeId)!;
    expect(bad.collector).toBeNull();
    expect(bad.dataProblems).toHaveLength(2);
    expect(bad.dataProblems[0]).toMatch(/^Node\.host: not JSON/);
    expect(bad.dataProblems[1]).toMatch(/^Node\.health\.nvidiaSmi\.status: /);
    const detail = await admin.fleet.node({ id: nodeId });
    expect(detail.health).toBeNull();
    expect(detail.host).toBeNull();
    expect(detail.gpus[0]!.throttleReasons).toBeNull();
    expect(detail.dataProblems).toEqual([
      expect.stringMatching(/^Node\.host: /),
      expect.stringMatching(/^Node\.health\.nvidiaSmi\.status: /),
      expect.stringMatching(/^GpuState\.throttleReasons\.raw: /),
    ]);
    // The evaluator reads the same rows: an unreadable health is unknown presence, not an error.
    await expect(h.services.fleet.evaluate()).resolves.toMatchObject({ firing: 0 });
  });

  it('unreadable stored alert rules: the defaults are in force and the problem is named', async () => {
    await h.db.setting.upsert({
      where: { key: 'alerts.rules' },
      create: { key: 'alerts.rules', value: '{"gpuHot":{"enabled":"yes"}}' },
      update: { value: '{"gpuHot":{"enabled":"yes"}}' },
    });
    const read = await readStoredAlertRules({ db: h.db });
    expect(read.rules).toEqual(DEFAULT_ALERT_RULES);
    expect(read.problem).toMatch(/^setting alerts\.rules\.gpuHot\.enabled: /);
    await h.db.setting.update({ where: { key: 'alerts.rules' }, data: { value: '{oops' } });
    expect((await readStoredAlertRules({ db: h.db })).problem).toMatch(/^setting alerts\.rules: not JSON/);
    await h.db.setting.delete({ where: { key: 'alerts.rules' } });
  });
});
