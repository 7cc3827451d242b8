/** An Alert row as the fleet views send it (ISO times). */
export function shapeAlert(a: {
  id: string;
  kind: string;
  nodeId: string;
  gpuIndex: number | null;
  state: string;
  message: string;
  value: number | null;
  startedAt: Date;
  firingAt: Date | null;
  resolvedAt: Date | null;
}) {
  return {
    id: a.id,
    kind: a.kind,
    nodeId: a.nodeId,
    gpuIndex: a.gpuIndex,
    state: a.state,
    message: a.message,
    value: a.value,
    startedAt: a.startedAt.toISOString(),
    firingAt: a.firingAt?.toISOString() ?? null,
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
  };
}
