import type { ZodType, output } from 'zod';
import type { TServices } from './context';
import type { TAccess, TActorFor } from './lib/authorize';

/**
 * A hot procedure declared once: the router builds its tRPC procedure from
 * this (trpc.ts hotMutation) and the console's plain-HTTP path serves the
 * same declaration without tRPC's adapter and middleware chain, which cost
 * several times the decision itself. Same access function, same schema,
 * same handler, same headers, same body cap.
 */
export type THotProcedure<A extends TAccess, S extends ZodType, O> = {
  path: string;
  access: A;
  input: S;
  /** The largest request body accepted, on either path. */
  maxBody: number;
  /** The domain call; `services` is the tRPC context on the router's path. */
  handler(input: output<S>, actor: TActorFor<A>, services: TServices): Promise<O>;
  /** Response headers that belong to an answer (RateLimit fields of a decision). */
  headers?(output: O, nowMs: number): Record<string, string>;
};

export function defineHotProcedure<A extends TAccess, S extends ZodType, O>(
  def: THotProcedure<A, S, O>,
): THotProcedure<A, S, O> {
  return def;
}
