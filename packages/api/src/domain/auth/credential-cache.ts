/**
 * What authentication remembers between requests: Bearer credentials for a few seconds (the
 * gateway calls admission thousands of times a second with one token) and when each credential's
 * "last used" was last written. One instance per services object, so two servers in one process
 * (tests, benchmarks) never see each other's cached or revoked credentials.
 */
import type { TActor } from '../actors/actor';

/**
 * A known credential is remembered this long by default (COOLANT_CREDENTIAL_CACHE_SECONDS).
 * Whatever ends one commits with a config-version bump (a token or node revoked, a node token
 * replaced by enrolling again after a rotated secret), and every instance runs clear() when it
 * applies that version; this bound only matters when an instance cannot learn of it. Why a minute:
 * agents report every 5 s, so at 5 s nearly every report missed the cache and cost a lookup
 * (1,000 nodes: ~100 Prisma queries a second).
 */
export const CREDENTIAL_CACHE_MS = 60_000;
/** An unknown or refused credential, remembered briefly: a token created a moment later is not refused for long. */
export const INVALID_CREDENTIAL_CACHE_MS = 5_000;
const TOUCH_EVERY_MS = 60_000;
const MAX_ENTRIES = 10_000;

export class CredentialCache {
  /** How long a known credential is remembered (CREDENTIAL_CACHE_MS unless the console sets it). */
  private readonly knownMs: number;

  constructor(opts: { knownMs?: number } = {}) {
    this.knownMs = opts.knownMs ?? CREDENTIAL_CACHE_MS;
  }

  /** Keyed by the Authorization header as sent: a hit is one map lookup (no parse, no SHA-256). */
  private readonly actors = new Map<string, { actor: TActor; until: number }>();
  private readonly touched = new Map<string, number>();

  get(req: { authorization: string; nowMs: number }): TActor | undefined {
    const cached = this.actors.get(req.authorization);
    return cached && cached.until > req.nowMs ? cached.actor : undefined;
  }

  set(req: { authorization: string; actor: TActor; nowMs: number }): void {
    if (this.actors.size > MAX_ENTRIES) this.actors.clear();
    const ttl = req.actor.kind === 'invalid' ? Math.min(INVALID_CREDENTIAL_CACHE_MS, this.knownMs) : this.knownMs;
    this.actors.set(req.authorization, { actor: req.actor, until: req.nowMs + ttl });
  }

  /** Forgets every cached credential (a revocation may be among the changes just applied). */
  clear(): void {
    this.actors.clear();
  }

  /** Runs `write` ("last used") at most once a minute per credential, off the request's critical path. */
  touch(req: { key: string; nowMs: number; write: () => Promise<unknown> }): void {
    const prev = this.touched.get(req.key) ?? 0;
    if (req.nowMs - prev < TOUCH_EVERY_MS) return;
    this.touched.set(req.key, req.nowMs);
    if (this.touched.size > MAX_ENTRIES) this.touched.clear();
    req.write().catch(() => this.touched.delete(req.key));
  }
}
