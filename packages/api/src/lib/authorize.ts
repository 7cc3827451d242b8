import type { TActor } from '../domain/actors/actor';
import { AppError } from './app-error';
import { roleAtLeast, type TRole } from './roles';

/**
 * Who may call a procedure, as one plain function: the tRPC base procedures
 * (trpc.ts) and the console's plain-HTTP path for hot procedures both call
 * it, so the two cannot drift apart. Refusals are AppErrors and reach HTTP
 * through the one error mapping (http-answer.ts).
 */

export type TAccess = 'public' | 'agent' | 'gateway' | TRole;

type TPerson = Extract<TActor, { kind: 'user' | 'token' }>;

/** The actor a procedure of this access sees once authorized. */
export type TActorFor<A extends TAccess> = A extends 'public'
  ? TActor
  : A extends 'agent'
    ? Extract<TActor, { kind: 'node' }>
    : A extends 'gateway'
      ? TPerson
      : TPerson & { role: TRole };

const ANONYMOUS: TActor = { kind: 'anonymous' };

/**
 * The actor the procedure runs as, or an AppError saying why not. Public
 * procedures treat a stale session cookie as anonymous (so the browser can
 * sign in again); every other bad credential is a 401.
 */
export function authorize<A extends TAccess>(access: A, actor: TActor): TActorFor<A> {
  if (actor.kind === 'invalid') {
    if (access === 'public' && actor.credential === 'cookie') return ANONYMOUS as TActorFor<A>;
    throw new AppError('UNAUTHORIZED', actor.reason);
  }
  if (access === 'public') return actor as TActorFor<A>;
  if (access === 'agent') {
    if (actor.kind === 'anonymous') throw new AppError('UNAUTHORIZED', 'Send the node token as Bearer');
    if (actor.kind !== 'node') throw new AppError('FORBIDDEN', 'Only enrolled agents may call this');
    return actor as TActorFor<A>;
  }
  if (actor.kind === 'anonymous') {
    throw new AppError(
      'UNAUTHORIZED',
      access === 'gateway' ? 'Send a gateway API token as Bearer' : 'Sign in or send a Bearer token',
    );
  }
  if (actor.kind === 'node') throw new AppError('FORBIDDEN', 'Node tokens may only call agent.* procedures');
  if (access === 'gateway') {
    if (actor.role !== 'gateway' && !roleAtLeast(actor.role, 'operator')) {
      throw new AppError('FORBIDDEN', `admission needs a gateway token or the operator role; you are ${actor.role}`);
    }
    return actor as TActorFor<A>;
  }
  if (actor.role === 'gateway') throw new AppError('FORBIDDEN', 'Gateway tokens may only call admission.* procedures');
  if (!roleAtLeast(actor.role, access))
    throw new AppError('FORBIDDEN', `This needs the ${access} role; you are ${actor.role}`);
  return actor as TActorFor<A>;
}
