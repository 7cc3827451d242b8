/**
 * What every procedure shares on the wire, for the OpenAPI document: who may
 * call it (the access kinds of lib/authorize.ts as security requirements) and
 * how it fails (tRPC's error JSON, the statuses the console answers with and
 * their Retry-After). Codes and statuses come from tRPC itself, so a client
 * reads exactly what the adapter and the console's plain-HTTP path send.
 */
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z } from 'zod';
import { SESSION_COOKIE } from '../context';
import type { TAccess } from '../lib/authorize';
import { inlineSchema, type TSchemaObject } from './zod-json-schema';

const CODES = Object.keys(TRPC_ERROR_CODES_BY_KEY) as TRPC_ERROR_CODE_KEY[];

/** tRPC's error shape as trpc.ts's errorFormatter writes it (no stack; issues and details added). */
export const ZTrpcErrorEnvelope = z.looseObject({
  error: z.looseObject({
    message: z.string().describe('For people: what is wrong and, where it helps, what to do.'),
    code: z.number().int().describe("JSON-RPC 2.0 error code (tRPC's), e.g. -32001 for UNAUTHORIZED"),
    data: z.looseObject({
      code: z.enum(CODES).describe('The code to branch on'),
      httpStatus: z.number().int(),
      path: z.string().optional().describe('The procedure, e.g. admission.consume'),
      issues: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .describe('BAD_REQUEST from input validation: each offending field and what is wrong with it'),
      details: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('Machine-readable facts of a domain error (e.g. retryAfterSeconds of a throttle)'),
    }),
  }),
});

export const securitySchemes: Record<string, TSchemaObject> = {
  session: {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description:
      "A console user's session, set by auth.login. POSTs with it are accepted only from the console's own origin (Origin / Sec-Fetch-Site are checked); programs send a Bearer token instead.",
  },
  apiToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      "An API token (tokens.create) with role viewer, operator or admin, or the console's COOLANT_ADMIN_TOKEN. Roles are ordered: viewer < operator < admin.",
  },
  gatewayToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token with role gateway (tokens.create {role: "gateway"}): admission.* only.',
  },
  nodeToken: {
    type: 'http',
    scheme: 'bearer',
    description: "A node's token, answered by agent.enroll: agent.* only.",
  },
};

/** Security requirements and the sentence a reader needs, per access kind. */
export function accessDoc(access: TAccess): { security: Record<string, string[]>[]; text: string } {
  switch (access) {
    case 'public':
      return {
        security: [{}, { session: [] }, { apiToken: [] }],
        text: 'No credential needed (a credential sent is still checked: a bad Bearer token is a 401).',
      };
    case 'agent':
      return { security: [{ nodeToken: [] }], text: "An enrolled node's token (agent.enroll)." };
    case 'gateway':
      return {
        security: [{ gatewayToken: [] }, { apiToken: [] }, { session: [] }],
        text: 'A gateway API token, or a person (API token or session) with the operator role or above.',
      };
    case 'viewer':
    case 'operator':
    case 'admin':
      return {
        security: [{ apiToken: [] }, { session: [] }],
        text: `A person (API token or session) with the ${access} role or above; gateway and node tokens are refused.`,
      };
    default: {
      const unknown: never = access;
      throw new Error(`OpenAPI: access kind ${String(unknown)} has no security requirement; add it to wire.ts`);
    }
  }
}

type TErrorDoc = { codes: TRPC_ERROR_CODE_KEY[]; when: string; retryAfter?: string };

/** Component name → the tRPC codes it answers and when Coolant sends it. */
const ERRORS = {
  BadRequest: {
    codes: ['BAD_REQUEST', 'PARSE_ERROR'],
    when: 'The input does not match the schema (message and data.issues name each field), or is not JSON.',
  },
  Unauthorized: {
    codes: ['UNAUTHORIZED'],
    when: 'No credential where one is needed, or a token or session that is unknown, revoked or expired.',
  },
  Forbidden: {
    codes: ['FORBIDDEN'],
    when: "The credential's role or kind may not call this (the message says what is needed), or a cookie-authenticated POST came from another origin.",
  },
  NotFound: { codes: ['NOT_FOUND'], when: 'No such procedure, or what the input names does not exist.' },
  MethodNotSupported: { codes: ['METHOD_NOT_SUPPORTED'], when: 'A query sent as POST or a mutation sent as GET.' },
  Conflict: { codes: ['CONFLICT'], when: 'The change conflicts with the current state (the message says how).' },
  UnsupportedMediaType: {
    codes: ['UNSUPPORTED_MEDIA_TYPE'],
    when: 'A POST whose Content-Type is not application/json.',
  },
  TooManyRequests: {
    codes: ['TOO_MANY_REQUESTS'],
    when: 'Throttled (today: auth.login after repeated failed sign-ins). An admission refusal is not this: admission.consume answers 200 with allowed: false.',
    retryAfter: 'Seconds until the throttle lets the caller try again.',
  },
  InternalServerError: {
    codes: ['INTERNAL_SERVER_ERROR'],
    when: "A bug or an unclassified failure; the message is generic and the cause is in the console's log.",
  },
  ServiceUnavailable: {
    codes: ['SERVICE_UNAVAILABLE'],
    when: 'The database is unreachable. Retry after the Retry-After seconds (1).',
    retryAfter: 'Seconds to wait before retrying (1).',
  },
} satisfies Record<string, TErrorDoc>;

export type TErrorName = keyof typeof ERRORS;

function statusOf(code: TRPC_ERROR_CODE_KEY): number {
  return getHTTPStatusCodeFromError(new TRPCError({ code }));
}

const envelope: TSchemaObject = { $ref: '#/components/schemas/TrpcErrorEnvelope' };

function errorResponse(doc: TErrorDoc, description: string): TSchemaObject {
  const response: TSchemaObject = { description, content: { 'application/json': { schema: envelope } } };
  if (doc.retryAfter)
    response.headers = { 'Retry-After': { description: doc.retryAfter, schema: { type: 'integer' } } };
  return response;
}

export function errorComponents(): {
  schemas: Record<string, TSchemaObject>;
  responses: Record<string, TSchemaObject>;
} {
  const responses: Record<string, TSchemaObject> = {};
  for (const [name, doc] of Object.entries(ERRORS) as [TErrorName, TErrorDoc][]) {
    responses[name] = errorResponse(doc, `${doc.codes.join(' or ')}: ${doc.when}`);
  }
  return { schemas: { TrpcErrorEnvelope: inlineSchema(ZTrpcErrorEnvelope) }, responses };
}

/** The error answers of one procedure, by status; `maxBody` names its own body cap in the 413. */
export function errorResponses(opts: { names: TErrorName[]; maxBody: number }): Record<string, TSchemaObject> {
  const out: Record<string, TSchemaObject> = {};
  for (const name of opts.names) {
    out[String(statusOf(ERRORS[name].codes[0]!))] = { $ref: `#/components/responses/${name}` };
  }
  out[String(statusOf('PAYLOAD_TOO_LARGE'))] = errorResponse(
    { codes: ['PAYLOAD_TOO_LARGE'], when: '' },
    `PAYLOAD_TOO_LARGE: the request body is over ${opts.maxBody} bytes (this procedure's cap).`,
  );
  return out;
}
