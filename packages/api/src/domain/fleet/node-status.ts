/**
 * A node's status from its last report. The offline threshold is a setting of the services object
 * (COOLANT_NODE_OFFLINE_AFTER_SECONDS), passed in by each caller: two servers in one process may
 * differ, so it is no module state.
 */
export type TNodeStatus = 'online' | 'stale' | 'offline' | 'revoked';

/** Offline after this long without a report, whatever the interval (default 2 min). */
export const DEFAULT_OFFLINE_AFTER_MS = 120_000;

export type TNodeStatusRequest = {
  node: { lastSeenAt: Date | null; revokedAt: Date | null; intervalSeconds: number };
  now: Date;
  offlineAfterMs: number;
};

/** Stale after three missed intervals, offline after offlineAfterMs without a report. */
export function nodeStatus(req: TNodeStatusRequest): TNodeStatus {
  const n = req.node;
  if (n.revokedAt) return 'revoked';
  if (!n.lastSeenAt) return 'offline';
  const age = req.now.getTime() - n.lastSeenAt.getTime();
  if (age > req.offlineAfterMs) return 'offline';
  return age > 3 * n.intervalSeconds * 1000 ? 'stale' : 'online';
}
