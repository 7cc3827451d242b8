export type TNodeStatus = 'online' | 'stale' | 'offline' | 'revoked';

/** Offline after this long without a report, whatever the interval (COOLANT_NODE_OFFLINE_AFTER_SECONDS, default 2 min). */
export const DEFAULT_OFFLINE_AFTER_MS = 120_000;
let offlineAfterMs = DEFAULT_OFFLINE_AFTER_MS;

/** Set once at start-up from the console's environment. */
export function setOfflineAfterMs(ms: number): void {
  offlineAfterMs = ms;
}

/** Stale after three missed intervals, offline after two minutes without a report. */
export function nodeStatus(
  n: { lastSeenAt: Date | null; revokedAt: Date | null; intervalSeconds: number },
  now: Date,
): TNodeStatus {
  if (n.revokedAt) return 'revoked';
  if (!n.lastSeenAt) return 'offline';
  const age = now.getTime() - n.lastSeenAt.getTime();
  if (age > offlineAfterMs) return 'offline';
  return age > 3 * n.intervalSeconds * 1000 ? 'stale' : 'online';
}
