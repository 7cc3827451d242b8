/**
 * What authentication remembers between requests: Bearer credentials for a few seconds (the
 * gateway calls admission thousands of times a second with one token) and when each credential's
 * "last used" was last written. One instance per services object, so two servers in one process
 * (tests, benchmarks) never see each other's cached or revoked credentials.
 */
import type { TActor } from '../actors/actor';

/**
 * A revocation clears this instance's cache at once (the config-version bump it commits with runs
 * clear()); other instances forget within CREDENTIAL_CACHE_MS.
 */
export const CREDENTIAL_CACHE_MS = 5_000;
const TOUCH_EVERY_MS = 60_000;
const MAX_ENTRIES = 10_000;

export class CredentialCache {
  /** Keyed by the Authorization header as sent: a hit is one map lookup (no parse, no SHA-256). */
  private readonly actors = new Map<string, { actor: TActor; until: number }>();
  private readonly touched = new Map<string, number>();

  get(req: { authorization: string; nowMs: number }): TActor | undefined {
    const cached = this.actors.get(req.authorization);
    return cached && cached.until > req.nowMs ? cached.actor : undefined;
  }

  set(req: { authorization: string; actor: TActor; nowMs: number }): void {
    if (this.actors.size > MAX_ENTRIES) this.actors.clear();
    this.actors.set(req.authorization, { actor: req.actor, until: req.nowMs + CREDENTIAL_CACHE_MS });
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
