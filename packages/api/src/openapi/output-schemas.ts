/**
 * Each procedure's answer as a zod schema, for the OpenAPI document only:
 * nothing parses an answer with it, so an answer is exactly what the resolver
 * returned (no key stripped, no parse on the gateway's hot path). What keeps
 * a schema honest is the compiler: `outputSchemas(router, {...})` refuses a
 * schema whose output type (what the document prints, io 'output') is not
 * exactly the resolver's return type (a field missing, added, optional
 * instead of required, a wider or narrower type), and a procedure left
 * without one. The output side, not the input side: no parse happens, so a
 * `.default()` of a reused validation schema (a stored config's) describes a
 * field the value always has, which is what the document says.
 */
import type { AnyProcedure, AnyRouter, inferProcedureOutput } from '@trpc/server';
import type { z, ZodType } from 'zod';

/** True only when A and B are the same type (not merely assignable either way; `any` equals only `any`). */
export type TExact<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Intersections and aliases spelled out, all the way down, so TExact compares shapes, not how a type was written. */
export type TPlain<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly unknown[]
    ? { [K in keyof T]: TPlain<T[K]> }
    : T extends object
      ? { [K in keyof T]: TPlain<T[K]> }
      : T;

type TRecord<R extends AnyRouter> = R['_def']['record'];

/** What the resolver of `router.key` returns (before JSON serialisation: a Date would show here, and fail). */
export type TResolverOutput<R extends AnyRouter, K extends keyof TRecord<R>> = TRecord<R>[K] extends AnyProcedure
  ? inferProcedureOutput<TRecord<R>[K]>
  : never;

/** Whether schema S documents exactly what the resolver returns. */
export type TSchemaMatches<S extends ZodType, O> = TExact<TPlain<z.output<S>>, TPlain<O>>;

type TMismatch<K, S extends ZodType, O> = {
  'output schema and resolver disagree': K;
  schema: z.output<S>;
  resolver: O;
};

type TChecked<R extends AnyRouter, S> = {
  [K in keyof TRecord<R>]: K extends keyof S
    ? S[K] extends ZodType
      ? TSchemaMatches<S[K], TResolverOutput<R, K>> extends true
        ? S[K]
        : TMismatch<K, S[K], TResolverOutput<R, K>>
      : ZodType
    : ZodType;
} & { [K in Exclude<keyof S, keyof TRecord<R>>]: 'not a procedure of this router' };

/**
 * The output schemas of one router's procedures, by procedure name: every
 * procedure needs one, and each must be exactly its resolver's type.
 */
export function outputSchemas<R extends AnyRouter, const S extends { [K in keyof TRecord<R>]: ZodType }>(
  _router: R,
  schemas: S & TChecked<R, S>,
): S {
  return schemas;
}
