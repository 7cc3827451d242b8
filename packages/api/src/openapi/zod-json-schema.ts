/**
 * The procedures' own zod schemas as OpenAPI 3.1 schema objects (3.1 speaks
 * JSON Schema 2020-12, which z.toJSONSchema writes), so the contract is the
 * validation the server runs and cannot drift from it. What zod cannot say in
 * JSON Schema (refinements, a subject's byte length) stays a server-side check
 * whose 400 names the field.
 */
import { z, type ZodType } from 'zod';

export type TSchemaObject = { [key: string]: unknown };
export type TSchemas = Record<string, TSchemaObject>;

function isObject(value: unknown): value is TSchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `$ref`s point at the document's root in OpenAPI: a schema's own `#/$defs/x` (recursion) moves into components. */
function rewriteRefs(value: unknown, name: string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, name));
  if (!isObject(value)) return value;
  const out: TSchemaObject = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '$ref' && typeof v === 'string') {
      if (v === '#') out[key] = `#/components/schemas/${name}`;
      else if (v.startsWith('#/$defs/')) out[key] = `#/components/schemas/${name}_${v.slice('#/$defs/'.length)}`;
      else out[key] = v;
    } else {
      out[key] = rewriteRefs(v, name);
    }
  }
  return out;
}

/**
 * `schema` as the component `name` (added to `components`, with any `$defs`
 * beside it), and a `$ref` to it. `io: 'input'` describes what a client sends
 * (a field with a default is optional; a transform's input side), `output`
 * what it reads back.
 */
export function schemaComponent(opts: {
  schema: ZodType;
  name: string;
  io: 'input' | 'output';
  components: TSchemas;
}): TSchemaObject {
  const { name, components } = opts;
  if (components[name]) throw new Error(`OpenAPI: two schemas named ${name}`);
  const json = z.toJSONSchema(opts.schema, { target: 'draft-2020-12', io: opts.io, unrepresentable: 'any' });
  const { $schema: _dialect, $defs, ...rest } = rewriteRefs(json, name) as TSchemaObject;
  components[name] = rest;
  if (isObject($defs)) {
    for (const [key, def] of Object.entries($defs)) {
      if (isObject(def)) components[`${name}_${key}`] = def;
    }
  }
  return { $ref: `#/components/schemas/${name}` };
}

/** A schema inlined where it is used (the envelopes of this file's callers). */
export function inlineSchema(schema: ZodType, io: 'input' | 'output' = 'output'): TSchemaObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as TSchemaObject;
  return rest;
}

/** Whether a procedure may be called without input: its schema accepts `undefined` (`.optional()`). */
export function acceptsNoInput(schema: ZodType): boolean {
  return schema.safeParse(undefined).success;
}
