/**
 * How far a config version has reached: for each live instance, the first time it applied that
 * version or a later one. Pure; the tier list (pause propagation) and the guard's drill read it.
 */
export type TApplication = { instanceId: string; version: number; appliedAt: Date };

export type TPropagation = {
  instances: { instanceId: string; appliedAt: Date | null }[];
  /** When the last live instance applied it; null while any has not (or there is none). */
  appliedByAllAt: Date | null;
};

export function propagationOf(req: {
  version: number;
  instanceIds: string[];
  applications: TApplication[];
}): TPropagation {
  const instances = req.instanceIds.map((instanceId) => {
    const times = req.applications
      .filter((a) => a.instanceId === instanceId && a.version >= req.version)
      .map((a) => a.appliedAt.getTime());
    return { instanceId, appliedAt: times.length ? new Date(Math.min(...times)) : null };
  });
  const all = instances.length > 0 && instances.every((i) => i.appliedAt !== null);
  return {
    instances,
    appliedByAllAt: all ? new Date(Math.max(...instances.map((i) => i.appliedAt!.getTime()))) : null,
  };
}
