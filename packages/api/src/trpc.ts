/** tRPC set-up: the error mapping (AppError to TRPCError, in one place) and the base procedures that carry the access decision. */
import { initTRPC, TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { ZodError, type output, type ZodType } from 'zod';
import type { TContext } from './context';
import type { THotProcedure } from './hot-procedure';
import { AppError, type TAppErrorCode } from './lib/app-error';
import { authorize, type TAccess } from './lib/authorize';
import { DATABASE_UNAVAILABLE, isDatabaseUnavailable } from './lib/db-unavailable';
import type { TRole } from './lib/roles';

export type { TAccess } from './lib/authorize';
export type TMeta = { access: TAccess };

/** Names the offending fields: `subject: String must contain at least 1 character(s)`. */
export function describeZodError(error: ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`).join('; ');
}

const t = initTRPC
  .context<TContext>()
  .meta<TMeta>()
  .create({
    errorFormatter({ shape, error }) {
      const zod = error.cause instanceof ZodError ? error.cause : null;
      // A 500 is a bug or an unclassified failure: its message (Prisma's, a stack's) is for the log, not the client.
      const internal = error.code === 'INTERNAL_SERVER_ERROR';
      return {
        ...shape,
        message: zod ? describeZodError(zod) : internal ? 'internal error (logged on the console)' : shape.message,
        data: {
          ...shape.data,
          stack: undefined,
          issues: zod ? zod.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) : undefined,
          details: error.cause instanceof AppError ? publicDetails(error.cause.details) : undefined,
        },
      };
    },
  });

const codeMap: Record<TAppErrorCode, TRPC_ERROR_CODE_KEY> = {
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

/** Domain code may attach the driver's message as `cause` (for logs); it never goes on the wire. */
function publicDetails(details: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!details || !('cause' in details)) return details;
  const { cause: _cause, ...rest } = details;
  return Object.keys(rest).length ? rest : undefined;
}

/**
 * The one place AppError (and an unreachable database) becomes TRPCError:
 * used by the procedures' middleware and by the HTTP edge for what fails
 * outside a procedure (building the context authenticates against the database).
 */
export function toTRPCError(error: unknown): TRPCError {
  const cause =
    error instanceof TRPCError && error.code === 'INTERNAL_SERVER_ERROR' && error.cause ? error.cause : error;
  if (cause instanceof AppError) return new TRPCError({ code: codeMap[cause.code], message: cause.message, cause });
  if (isDatabaseUnavailable(cause))
    return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: DATABASE_UNAVAILABLE, cause });
  if (error instanceof TRPCError) return error;
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error });
}

const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  // Input errors read the same through createCaller as over HTTP: the fields and what is wrong with them.
  if (result.error.cause instanceof ZodError && result.error.code === 'BAD_REQUEST') {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: describeZodError(result.error.cause),
      cause: result.error.cause,
    });
  }
  const mapped = toTRPCError(result.error);
  if (mapped !== result.error) throw mapped;
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
/** The formatter and transformer the adapter uses, for error answers written outside it (http-answer.ts). */
export const trpcConfig = t._config;

const base = t.procedure.use(mapErrors);

/**
 * A stale or made-up session cookie must not stop the browser from signing in
 * again: public procedures treat it as anonymous and expire it (unless the
 * procedure itself set a new one). A bad Bearer token is still a 401.
 */
export const publicProcedure = base.meta({ access: 'public' }).use(async ({ ctx, next }) => {
  const actor = authorize('public', ctx.actor);
  if (actor === ctx.actor) return next();
  let cookieWritten = false;
  const cookies = {
    setSession: (value: string, maxAgeSeconds: number) => {
      cookieWritten = true;
      ctx.cookies.setSession(value, maxAgeSeconds);
    },
    clearSession: () => {
      cookieWritten = true;
      ctx.cookies.clearSession();
    },
  };
  const result = await next({ ctx: { actor, cookies } });
  if (!cookieWritten) ctx.cookies.clearSession();
  return result;
});

function roleProcedure<R extends TRole>(required: R) {
  return base
    .meta({ access: required })
    .use(({ ctx, next }) => next({ ctx: { actor: authorize(required, ctx.actor) } }));
}

export const viewerProcedure = roleProcedure('viewer');
export const operatorProcedure = roleProcedure('operator');
export const adminProcedure = roleProcedure('admin');

export const agentProcedure = base
  .meta({ access: 'agent' })
  .use(({ ctx, next }) => next({ ctx: { actor: authorize('agent', ctx.actor) } }));

/** admission.*: the gateway's token, and operators or admins (drills, debugging). */
export const gatewayProcedure = base
  .meta({ access: 'gateway' })
  .use(({ ctx, next }) => next({ ctx: { actor: authorize('gateway', ctx.actor) } }));

/**
 * The router's procedure of a hot procedure: the base procedure with the same
 * access check as the named procedures, its schema and its handler, from the
 * one declaration the console's plain-HTTP path serves too (hot-procedures.ts).
 * Not for public access: a public procedure also expires a stale session cookie,
 * which the plain-HTTP path does not do.
 */
export function hotMutation<A extends Exclude<TAccess, 'public'>, S extends ZodType, O>(def: THotProcedure<A, S, O>) {
  return base
    .meta({ access: def.access })
    .use(({ ctx, next }) => next({ ctx: { actor: authorize(def.access, ctx.actor) } }))
    .input(def.input)
    .mutation(({ ctx, input }): Promise<O> => def.handler(input as output<S>, ctx.actor, ctx));
}
