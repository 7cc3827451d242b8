/**
 * The live leases of the process that owns the SQLite file, in memory: the counts a lease decision
 * reads and the reservation it makes happen with no await in between (JavaScript runs one decision
 * at a time), so 1,000 concurrent requests against a bound N reserve exactly N. Loaded from the
 * table at start; a lease leaves when released, abandoned or when the process clock passes its
 * expiresAt (the same clock that wrote it), so an expiry frees its slot at expiresAt by itself.
 */
import type { TLeaseCounts } from './lease-types';

export type TLiveLease = { tierId: string; subject: string; expiresAtMs: number; ttlMs: number };

const subjectKey = (tierId: string, subject: string) => `${tierId}\u0000${subject}`;

export class LiveLeases {
  private readonly leases = new Map<string, TLiveLease>();
  private readonly perTier = new Map<string, number>();
  private readonly perSubject = new Map<string, number>();
  /** The earliest expiresAt held (a pass over the map is needed only once it is reached). */
  private nextExpiryMs = Infinity;

  get size(): number {
    return this.leases.size;
  }

  /** The lease while live at `nowMs`, else undefined (an expired one is dropped). */
  get(id: string, nowMs: number): TLiveLease | undefined {
    this.expire(nowMs);
    return this.leases.get(id);
  }

  add(id: string, lease: TLiveLease): void {
    this.leases.set(id, lease);
    this.bump(this.perTier, lease.tierId, 1);
    this.bump(this.perSubject, subjectKey(lease.tierId, lease.subject), 1);
    if (lease.expiresAtMs < this.nextExpiryMs) this.nextExpiryMs = lease.expiresAtMs;
  }

  remove(id: string): TLiveLease | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    this.leases.delete(id);
    this.bump(this.perTier, lease.tierId, -1);
    this.bump(this.perSubject, subjectKey(lease.tierId, lease.subject), -1);
    return lease;
  }

  extend(id: string, expiresAtMs: number, ttlMs: number): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    lease.expiresAtMs = expiresAtMs;
    lease.ttlMs = ttlMs;
  }

  /** Drops every lease whose expiresAt is at or before `nowMs`. */
  expire(nowMs: number): void {
    if (nowMs < this.nextExpiryMs) return;
    let next = Infinity;
    for (const [id, l] of this.leases) {
      if (l.expiresAtMs <= nowMs) this.remove(id);
      else if (l.expiresAtMs < next) next = l.expiresAtMs;
    }
    this.nextExpiryMs = next;
  }

  counts(req: { tierId: string; subject: string; nowMs: number }): TLeaseCounts {
    this.expire(req.nowMs);
    return {
      byTier: new Map([...this.perTier].filter(([, n]) => n > 0)),
      subject: this.perSubject.get(subjectKey(req.tierId, req.subject)) ?? 0,
    };
  }

  private bump(map: Map<string, number>, key: string, by: number): void {
    const n = (map.get(key) ?? 0) + by;
    if (n > 0) map.set(key, n);
    else map.delete(key);
  }
}
