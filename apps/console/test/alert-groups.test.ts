/** The fleet page's alert rows: one per node, summarised, expanding to the node's alerts. */
import { describe, expect, it } from 'vitest';
import { groupAlerts, type TAlertRow } from '../src/lib/alert-groups';

const T = '2026-12-01T12:00:00.000Z';
let n = 0;
function alert(nodeId: string, kind: string, over: Partial<TAlertRow> = {}): TAlertRow {
  return {
    id: `a${++n}`,
    kind,
    nodeId,
    gpuIndex: null,
    state: 'firing',
    message: `${kind} on ${nodeId}`,
    value: null,
    startedAt: T,
    firingAt: T,
    ...over,
  };
}
const hosts = (id: string) => `sim-${id}`;

describe('groupAlerts', () => {
  it('eight hot GPUs of one node are one row: count and temperature range', () => {
    const temps = [87, 88, 92, 90, 89, 91, 87.4, 88];
    const alerts = temps.map((t, i) =>
      alert('001', 'gpu_hot', { gpuIndex: 7 - i, value: t, firingAt: `2026-12-01T12:0${i}:00.000Z` }),
    );
    const groups = groupAlerts(alerts, hosts);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({
      nodeId: '001',
      hostname: 'sim-001',
      state: 'firing',
      summary: '8 GPUs hot, 87–92 °C',
      since: '2026-12-01T12:00:00.000Z',
      kinds: ['gpu_hot'],
    });
    expect(groups[0]!.alerts.map((a) => a.gpuIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('100 hot nodes of 8 GPUs are 100 rows, not 800', () => {
    const alerts = Array.from({ length: 100 }, (_, node) =>
      Array.from({ length: 8 }, (_, g) =>
        alert(String(node).padStart(3, '0'), 'gpu_hot', { gpuIndex: g, value: 86 + g }),
      ),
    ).flat();
    const groups = groupAlerts(alerts, hosts);
    expect(groups).toHaveLength(100);
    expect(groups.every((g) => g.alerts.length === 8 && g.summary === '8 GPUs hot, 86–93 °C')).toBe(true);
  });

  it('mixed kinds: node-wide trouble first, pending ones marked, firing nodes first', () => {
    const groups = groupAlerts(
      [
        alert('002', 'gpu_missing', { gpuIndex: 7, state: 'pending', firingAt: null }),
        alert('001', 'gpu_hot', { gpuIndex: 0, value: 91 }),
        alert('001', 'gpu_missing', { gpuIndex: 3, state: 'pending', firingAt: null }),
        alert('001', 'gpu_missing', { gpuIndex: 2 }),
        alert('001', 'collector_failing'),
        alert('003', 'node_offline'),
      ],
      hosts,
    );
    expect(groups.map((g) => [g.hostname, g.state, g.summary])).toEqual([
      ['sim-001', 'firing', 'collector failing, 2 GPUs missing (1 pending), 1 GPU hot, 91 °C'],
      ['sim-003', 'firing', 'offline'],
      ['sim-002', 'pending', '1 GPU missing (pending)'],
    ]);
  });

  it('an unknown node id stands in for its hostname', () => {
    expect(groupAlerts([alert('gone', 'node_offline')], () => undefined)[0]!.hostname).toBe('gone');
  });
});
