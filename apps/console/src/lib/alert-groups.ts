/**
 * The fleet page lists open alerts one row per node ("sim-001: 8 GPUs hot, 87–92 °C"), which
 * expands to the node's alerts: with one row per alert, 100 hot 8-GPU nodes would be 800 rows
 * above the grid. Grouped here, in the browser, so the API keeps its one-alert-per-row shape.
 */
export type TAlertRow = {
  id: string;
  kind: string;
  nodeId: string;
  gpuIndex: number | null;
  state: string;
  message: string;
  value: number | null;
  startedAt: string;
  firingAt: string | null;
};

export type TAlertGroup<T extends TAlertRow = TAlertRow> = {
  nodeId: string;
  hostname: string;
  /** firing when any alert of the node fires, else pending. */
  state: 'firing' | 'pending';
  /** The oldest of its alerts (firing time, else start). */
  since: string;
  summary: string;
  kinds: string[];
  alerts: T[];
};

/** Node-wide trouble first: it explains the GPU alerts that follow. */
const KIND_ORDER = ['node_offline', 'collector_failing', 'gpu_missing', 'gpu_hot'];

const gpus = (n: number) => `${n} GPU${n === 1 ? '' : 's'}`;

function describeKind(kind: string, alerts: TAlertRow[]): string {
  const pending = alerts.filter((a) => a.state === 'pending').length;
  const note = pending === 0 ? '' : pending === alerts.length ? ' (pending)' : ` (${pending} pending)`;
  switch (kind) {
    case 'gpu_hot': {
      const values = alerts.map((a) => a.value).filter((v): v is number => v !== null);
      const lo = Math.round(Math.min(...values));
      const hi = Math.round(Math.max(...values));
      const range = values.length === 0 ? '' : lo === hi ? `, ${lo} °C` : `, ${lo}–${hi} °C`;
      return `${gpus(alerts.length)} hot${range}${note}`;
    }
    case 'gpu_missing':
      return `${gpus(alerts.length)} missing${note}`;
    case 'node_offline':
      return `offline${note}`;
    case 'collector_failing':
      return `collector failing${note}`;
    default:
      return `${alerts.length} × ${kind.replaceAll('_', ' ')}${note}`;
  }
}

const sinceOf = (a: TAlertRow) => a.firingAt ?? a.startedAt;

export function groupAlerts<T extends TAlertRow>(
  alerts: T[],
  hostnameOf: (nodeId: string) => string | undefined,
): TAlertGroup<T>[] {
  const byNode = new Map<string, T[]>();
  for (const a of alerts) byNode.set(a.nodeId, [...(byNode.get(a.nodeId) ?? []), a]);
  const groups = [...byNode.entries()].map(([nodeId, list]): TAlertGroup<T> => {
    const byKind = new Map<string, T[]>();
    for (const a of list) byKind.set(a.kind, [...(byKind.get(a.kind) ?? []), a]);
    const rank = (k: string) => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : KIND_ORDER.length);
    const kinds = [...byKind.keys()].sort((x, y) => rank(x) - rank(y) || x.localeCompare(y));
    const sorted = kinds.flatMap((k) => byKind.get(k)!.sort((x, y) => (x.gpuIndex ?? -1) - (y.gpuIndex ?? -1)));
    return {
      nodeId,
      hostname: hostnameOf(nodeId) ?? nodeId,
      state: list.some((a) => a.state === 'firing') ? 'firing' : 'pending',
      since: list.map(sinceOf).sort()[0]!,
      summary: kinds.map((k) => describeKind(k, byKind.get(k)!)).join(', '),
      kinds,
      alerts: sorted,
    };
  });
  // Firing nodes first, then the ones with the most alerts, then by name.
  return groups.sort(
    (a, b) =>
      (a.state === b.state ? 0 : a.state === 'firing' ? -1 : 1) ||
      b.alerts.length - a.alerts.length ||
      a.hostname.localeCompare(b.hostname),
  );
}
