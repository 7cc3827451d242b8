export type TNodeStatus = 'online' | 'stale' | 'offline' | 'revoked';

/** Offline after this long without a report, whatever the interval. */
export const OFFLINE_AFTER_MS = 120_000;

/** Stale after three missed intervals, offline after two minutes without a report. */
export function nodeStatus(n: { lastSeenAt: Date | null; revokedAt: Date | null; intervalSeconds: number }, now: Date): TNodeStatus {
  if (n.revokedAt) return 'revoked';
  if (!n.lastSeenAt) return 'offline';
  const age = now.getTime() - n.lastSeenAt.getTime();
  if (age > OFFLINE_AFTER_MS) return 'offline';
  return age > 3 * n.intervalSeconds * 1000 ? 'stale' : 'online';
}
