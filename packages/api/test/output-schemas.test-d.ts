/**
 * Type-level test, compiled by the package's `tsc --noEmit` (not run by
 * vitest): the OpenAPI document's output schemas are exactly what the
 * resolvers return. Nothing parses an answer with them (openapi/output-schemas.ts),
 * so this check is what stands between the contract and the answers: the
 * whole app router must match, and each kind of disagreement below must be
 * refused (an unused @ts-expect-error fails the build, so a checker that
 * stopped refusing would be caught too).
 */
import { z } from 'zod';
import { outputSchemas, type TExact } from '../src/openapi/output-schemas';
import type { TAppOutputsMatch } from '../src/openapi/procedure-outputs';
import { publicProcedure, router } from '../src/trpc';

/** true when every leaf of T is true. */
type TAllTrue<T> = T extends boolean
  ? T extends true
    ? true
    : false
  : { [K in keyof T]: TAllTrue<T[K]> }[keyof T] extends true
    ? true
    : false;

// Every router, every procedure: its schema in procedure-outputs.ts is exactly its resolver's return type.
export const appOutputsMatch: TAllTrue<TAppOutputsMatch> = true;

const sample = router({
  item: publicProcedure.query(
    (): {
      id: string;
      count: number;
      note: string | null;
      state: 'ok' | 'failed';
      tags: string[];
      lease?: { id: string };
    } => ({
      id: 'a',
      count: 1,
      note: null,
      state: 'ok',
      tags: ['x'],
    }),
  ),
  plain: publicProcedure.query(() => ({ ok: true as const })),
  loose: publicProcedure.query((): unknown => JSON.parse('{}')),
});

const ZItem = z.object({
  id: z.string(),
  count: z.number(),
  note: z.string().nullable(),
  state: z.enum(['ok', 'failed']),
  tags: z.array(z.string()),
  lease: z.object({ id: z.string() }).optional(),
});
const ZPlain = z.object({ ok: z.literal(true) });

export const accepted = outputSchemas(sample, { item: ZItem, plain: ZPlain, loose: z.unknown() });

outputSchemas(sample, {
  // @ts-expect-error a field the resolver returns is missing from the schema (it would vanish from a parsed answer)
  item: ZItem.omit({ count: true }),
  plain: ZPlain,
  loose: z.unknown(),
});

outputSchemas(sample, {
  // @ts-expect-error a field the resolver never returns, even optional
  item: ZItem.extend({ extra: z.string().optional() }),
  plain: ZPlain,
  loose: z.unknown(),
});

outputSchemas(sample, {
  // @ts-expect-error nullable in the answer, not in the schema
  item: ZItem.extend({ note: z.string() }),
  plain: ZPlain,
  loose: z.unknown(),
});

outputSchemas(sample, {
  // @ts-expect-error a wider type than the resolver's ('ok' | 'failed')
  item: ZItem.extend({ state: z.string() }),
  plain: ZPlain,
  loose: z.unknown(),
});

outputSchemas(sample, {
  // @ts-expect-error required in the schema, optional in the answer
  item: ZItem.extend({ lease: z.object({ id: z.string() }) }),
  plain: ZPlain,
  loose: z.unknown(),
});

outputSchemas(sample, {
  // @ts-expect-error a transform's output (what the document prints) is not what the resolver returns
  item: ZItem.extend({ count: z.number().transform(String) }),
  plain: ZPlain,
  loose: z.unknown(),
});

// A default (a reused validation schema's) is fine: its output side, a field always present, is the resolver's.
export const withDefault = outputSchemas(sample, {
  item: ZItem.extend({ count: z.number().default(0) }),
  plain: ZPlain,
  loose: z.unknown(),
});

outputSchemas(sample, {
  item: ZItem,
  // @ts-expect-error `any` is not the resolver's type, in either direction
  plain: z.any(),
  loose: z.unknown(),
});

// @ts-expect-error a procedure left without a schema
outputSchemas(sample, { item: ZItem, plain: ZPlain });

outputSchemas(sample, {
  item: ZItem,
  plain: ZPlain,
  loose: z.unknown(),
  // @ts-expect-error a schema for a procedure the router does not have
  gone: z.string(),
});

// The equality itself: not mere assignability either way.
export const exact: [
  TExact<{ a: string }, { a: string }>,
  TExact<{ a: string; b?: number }, { a: string }>,
  TExact<{ a: string }, { a: string | null }>,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the point: any must not pass for a shape
  TExact<any, { a: string }>,
] = [true, false, false, false];
