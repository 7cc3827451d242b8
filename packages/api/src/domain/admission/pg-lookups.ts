/**
 * The service looks up every requestId before deciding (a retry gets its first answer without
 * consuming). On PostgreSQL that was one round trip per consume before its batch; here the
 * lookups of one I/O phase share one prepared statement over an array of ids, as consumes do.
 */
import type { TPgRaw } from '@coolant/db';
import type { TConsumeResponse, TStoredRequest } from './types';

const LOOKUP_SQL = `SELECT r."requestId", r."response", r."fingerprint"
FROM unnest($1::text[], $2::timestamp(3)[]) AS l(id, now)
JOIN "AdmissionRequest" r ON r."requestId" = l.id AND r."expiresAt" > l.now`;

type TLookup = { id: string; now: Date; resolve(r: TStoredRequest | null): void; reject(e: unknown): void };

export class PgRequestLookups {
  private queue: TLookup[] = [];

  constructor(private readonly raw: TPgRaw) {}

  lookup(id: string, now: Date): Promise<TStoredRequest | null> {
    return new Promise((resolve, reject) => {
      if (this.queue.push({ id, now, resolve, reject }) === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    try {
      const rows = await this.raw.query(
        LOOKUP_SQL,
        [batch.map((l) => l.id), batch.map((l) => l.now.toISOString())],
        'coolant_admission_lookup',
      );
      const found = new Map(rows.map((r) => [String(r.requestId), r]));
      for (const l of batch) {
        const r = found.get(l.id);
        l.resolve(
          r
            ? { response: JSON.parse(String(r.response)) as TConsumeResponse, fingerprint: String(r.fingerprint) }
            : null,
        );
      }
    } catch (error) {
      for (const l of batch) l.reject(error);
    }
  }
}
