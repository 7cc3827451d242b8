import { AppError } from '../../lib/app-error';

/**
 * A requestId names one request: its tier, subject and cost. Without this, a
 * gateway reusing an id for another request (a bug, or two gateways sharing
 * an id scheme) would get the first request's answer and consume nothing.
 * The fingerprint is stored beside the answer so a mismatch is refused on
 * every instance, not only the one that answered first.
 */
export function requestFingerprint(req: {
  tier: string;
  subject: string;
  cost: number;
  lease?: { ttlSeconds: number } | undefined;
}): string {
  // JSON, not a joined string: a subject may contain any separator. With a lease it is another request.
  return req.lease
    ? JSON.stringify([req.tier, req.subject, req.cost, 'lease'])
    : JSON.stringify([req.tier, req.subject, req.cost]);
}

/** Throws CONFLICT (409) when `requestId` was first used for another request. */
export function assertSameRequest(requestId: string, stored: string, fingerprint: string): void {
  // '' : recorded before fingerprints existed; nothing to compare, the first answer stands.
  if (stored === '' || stored === fingerprint) return;
  let first = 'another request';
  try {
    const [tier, subject, cost] = JSON.parse(stored) as [string, string, number];
    first = `tier ${tier}, subject ${subject}, cost ${cost}`;
  } catch {
    // A fingerprint this code did not write: still a conflict, described less precisely.
  }
  throw new AppError(
    'CONFLICT',
    `requestId ${requestId} was already used for ${first}; send a new requestId for a different request`,
  );
}
