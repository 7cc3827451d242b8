/**
 * GET /api/openapi.json: an OpenAPI 3.1 document built from the router itself
 * (every procedure of appRouter._def.procedures, its access meta, its zod
 * input, and its output schema from the router's outputSchemas declaration,
 * procedure-outputs.ts), so a procedure added to a router is in the contract
 * without anyone writing it down, and a client generated from it
 * (openapi-typescript, any language's generator) speaks tRPC's wire format
 * over plain HTTP.
 */
import type { AnyRouter } from '@trpc/server';
import { z, type ZodType } from 'zod';
import type { TAnyHotProcedure } from '../hot-procedures';
import type { TAccess } from '../lib/authorize';
import { rateLimitHeaders } from '../lib/rate-limit-headers';
import { PROCEDURE_OUTPUTS } from './procedure-outputs';
import { accessDoc, errorComponents, errorResponses, securitySchemes, type TErrorName } from './wire';
import { acceptsNoInput, schemaComponent, type TSchemaObject, type TSchemas } from './zod-json-schema';

export type TProcedureDoc = {
  path: string;
  type: 'query' | 'mutation';
  access: TAccess;
  /** Whether the procedure has an output schema (procedure-outputs.ts); buildOpenApiDocument refuses one without. */
  outputDeclared: boolean;
};

type TProcedureDef = { type: string; meta?: { access?: TAccess }; inputs: unknown[] };

const ACCESS: readonly TAccess[] = ['public', 'agent', 'gateway', 'viewer', 'operator', 'admin'];

function isAccess(value: unknown): value is TAccess {
  return typeof value === 'string' && (ACCESS as readonly string[]).includes(value);
}

/** `admission.consume` → `AdmissionConsume` (component names). */
function pascal(path: string): string {
  return path
    .split(/[.\-_]/)
    .map((s) => s.charAt(0).toUpperCase() + s.slice(1))
    .join('');
}

const RATE_LIMIT_HEADERS: TSchemaObject = {
  RateLimit: {
    description:
      'Remaining units r and seconds to reset t of each limit checked (draft-ietf-httpapi-ratelimit-headers)',
    schema: { type: 'string' },
  },
  'RateLimit-Policy': {
    description: 'Quota q and window w (seconds) of each limit checked',
    schema: { type: 'string' },
  },
  'Retry-After': { description: 'Only on a refusal: seconds until a retry can succeed', schema: { type: 'integer' } },
};

/** The procedures the document covers, in router order: what the console's API page lists. */
export function listProcedures(
  router: AnyRouter,
  outputs: ReadonlyMap<string, ZodType> = PROCEDURE_OUTPUTS,
): (TProcedureDoc & { def: TProcedureDef; output: ZodType | null })[] {
  const procedures: Record<string, { _def: TProcedureDef }> = router._def.procedures;
  return Object.entries(procedures).map(([path, { _def: def }]) => {
    if (def.type !== 'query' && def.type !== 'mutation')
      throw new Error(
        `OpenAPI: ${path} is a ${def.type}; plain JSON HTTP has no way to call it (document it in wire.ts)`,
      );
    const access = def.meta?.access;
    if (!isAccess(access))
      throw new Error(`OpenAPI: ${path} has no meta.access; build it from a base procedure of trpc.ts`);
    const output = outputs.get(path) ?? null;
    return { path, type: def.type, access, outputDeclared: output !== null, def, output };
  });
}

function inputOf(path: string, def: TProcedureDef): ZodType | null {
  if (def.inputs.length === 0) return null;
  const [first, ...more] = def.inputs;
  if (!(first instanceof z.ZodType) || more.length > 0)
    throw new Error(`OpenAPI: ${path}'s input is not one zod schema; the generator reads only zod`);
  return first;
}

export function buildOpenApiDocument(opts: {
  router: AnyRouter;
  version: string;
  /** The console's plain-HTTP procedures (body caps, answer headers). */
  hot: ReadonlyMap<string, TAnyHotProcedure>;
  /** The body cap of a procedure without its own. */
  defaultMaxBody: number;
  /** Output schemas by path; the routers' own by default. */
  outputs?: ReadonlyMap<string, ZodType>;
}): TSchemaObject {
  const schemas: TSchemas = {};
  const paths: Record<string, TSchemaObject> = {};
  const errors = errorComponents();
  Object.assign(schemas, errors.schemas);
  const routers = new Set<string>();

  for (const p of listProcedures(opts.router, opts.outputs)) {
    const hot = opts.hot.get(p.path);
    const group = p.path.split('.')[0]!;
    routers.add(group);
    const auth = accessDoc(p.access);
    const input = inputOf(p.path, p.def);
    const inputRef = input
      ? schemaComponent({ schema: input, name: `${pascal(p.path)}Input`, io: 'input', components: schemas })
      : null;
    const optional = !input || acceptsNoInput(input);
    if (!p.output)
      throw new Error(
        `OpenAPI: ${p.path} has no output schema; declare it in its router's outputSchemas (openapi/output-schemas.ts)`,
      );
    const data = schemaComponent({
      schema: p.output,
      name: `${pascal(p.path)}Output`,
      io: 'output',
      components: schemas,
    });
    const result: TSchemaObject = { type: 'object', properties: { data }, required: ['data'] };

    const names: TErrorName[] = ['BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'MethodNotSupported'];
    if (p.type === 'mutation') names.push('Conflict', 'UnsupportedMediaType');
    names.push('TooManyRequests', 'InternalServerError', 'ServiceUnavailable');
    const ok: TSchemaObject = {
      description: 'The procedure answered: its value is result.data.',
      content: { 'application/json': { schema: { type: 'object', required: ['result'], properties: { result } } } },
    };
    if (hot?.headers === rateLimitHeaders) ok.headers = RATE_LIMIT_HEADERS;

    const operation: TSchemaObject = {
      operationId: p.path,
      tags: [group],
      summary: `${p.path} (${p.type})`,
      description: [
        `Access: ${auth.text}`,
        p.type === 'query'
          ? 'A tRPC query: GET, the input as URL-encoded JSON in ?input=.'
          : 'A tRPC mutation: POST, the input as the JSON body (Content-Type: application/json).',
        hot ? "Served by the console's plain-HTTP fast path (same answers as the tRPC adapter)." : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
      security: auth.security,
      'x-coolant-access': p.access,
      'x-coolant-output-declared': p.outputDeclared,
      responses: { '200': ok, ...errorResponses({ names, maxBody: hot?.maxBody ?? opts.defaultMaxBody }) },
    };
    if (p.type === 'query') {
      if (inputRef)
        operation.parameters = [
          {
            name: 'input',
            in: 'query',
            required: !optional,
            description: 'The input as JSON (URL-encoded).',
            content: { 'application/json': { schema: inputRef } },
          },
        ];
    } else {
      operation.requestBody = {
        required: !optional,
        description: inputRef ? 'The input as JSON.' : 'No input: send no body or {} (Content-Type: application/json).',
        content: { 'application/json': { schema: inputRef ?? {} } },
      };
    }
    paths[`/api/trpc/${p.path}`] = { [p.type === 'query' ? 'get' : 'post']: operation };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Coolant API',
      version: opts.version,
      description: [
        'Every tRPC procedure of the console, generated at start-up from the routers and the zod schemas they validate with.',
        'Queries: GET /api/trpc/<procedure>?input=<URL-encoded JSON>. Mutations: POST /api/trpc/<procedure> with the input as a JSON body and Content-Type: application/json.',
        'Answers: 200 {"result":{"data":…}}; errors: tRPC\'s error JSON {"error":{"message","code","data":{"code","httpStatus","path"}}} with the HTTP status of data.code.',
        "tRPC's batching (?batch=1, answers as arrays) also works but is not described here; one call per request is the contract.",
      ].join('\n\n'),
    },
    servers: [{ url: '/', description: 'This console' }],
    tags: [...routers].map((name) => ({ name, description: `${name}.* procedures` })),
    paths,
    components: { schemas, responses: errors.responses, securitySchemes },
  };
}
