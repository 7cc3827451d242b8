/**
 * Who did something, as the domain records it. A leaf every domain may import: it holds the
 * actors the code itself acts as (the guard, the scheduler) and the helpers that turn an actor
 * into the columns rows keep. The request's actor type lives here too: context.ts imports it
 * from the domain, never the reverse.
 */
import type { TRole, TTokenRole } from '../../lib/roles';

/** Who is calling: what authentication made of the request's credentials. */
export type TActor =
  | { kind: 'anonymous' }
  /** A credential was presented but is unknown, expired or revoked; `credential` says which kind (public procedures ignore a bad cookie). */
  | { kind: 'invalid'; reason: string; credential: 'bearer' | 'cookie' }
  | { kind: 'user'; id: string; name: string; role: TRole; sessionId: string }
  | { kind: 'token'; id: string; name: string; role: TTokenRole }
  | { kind: 'node'; id: string; name: string };

/** The launch-day guard. Built only here: no credential can become it, whatever its name. */
export const GUARD_ACTOR = { kind: 'system', name: 'guard' } as const;
/** The scheduled resume of a pause whose resumeAt has passed. */
export const SCHEDULER_ACTOR = { kind: 'system', name: 'scheduler' } as const;

export type TSystemActor = typeof GUARD_ACTOR | typeof SCHEDULER_ACTOR;

/** A person acting through a session or an API token. */
export type TPersonActor = Extract<TActor, { kind: 'user' | 'token' }>;

/** Who may change a tier: a person, the guard or the scheduler. */
export type TChangeActor = TPersonActor | TSystemActor;

/** Stored next to a name (Tier.pausedByKind, TemporaryLimit.createdByKind): ownership is decided by this, never by the name. */
export type TActorKind = 'user' | 'token' | 'guard' | 'system';

export function actorKind(actor: TChangeActor): TActorKind {
  if (actor.kind !== 'system') return actor.kind;
  // System actors are constants of this file (their names are literal types), so the name is their identity here.
  return actor.name === GUARD_ACTOR.name ? 'guard' : 'system';
}

export function actorName(actor: TActor | TSystemActor): string {
  return actor.kind === 'user' || actor.kind === 'token' || actor.kind === 'node' || actor.kind === 'system'
    ? actor.name
    : actor.kind;
}
