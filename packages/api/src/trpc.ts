import { initTRPC, TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { ZodError } from 'zod';
import type { TActor, TContext } from './context';
import { AppError, type TAppErrorCode } from './lib/app-error';
import { roleAtLeast, type TRole } from './lib/roles';

export type TAccess = 'public' | 'agent' | 'gateway' | TRole;
export type TMeta = { access: TAccess };

/** Names the offending fields: `subject: String must contain at least 1 character(s)`. */
export function describeZodError(error: ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`)
    .join('; ');
}

const t = initTRPC
  .context<TContext>()
  .meta<TMeta>()
  .create({
    errorFormatter({ shape, error }) {
      const zod = error.cause instanceof ZodError ? error.cause : null;
      return {
        ...shape,
        message: zod ? describeZodError(zod) : shape.message,
        data: {
          ...shape.data,
          stack: undefined,
          issues: zod ? zod.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) : undefined,
          details: error.cause instanceof AppError ? error.cause.details : undefined,
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

/** The one place AppError becomes TRPCError. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  // Input errors read the same through createCaller as over HTTP: the fields and what is wrong with them.
  if (!result.ok && result.error.cause instanceof ZodError && result.error.code === 'BAD_REQUEST') {
    throw new TRPCError({ code: 'BAD_REQUEST', message: describeZodError(result.error.cause), cause: result.error.cause });
  }
  if (!result.ok && result.error.cause instanceof AppError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: codeMap[cause.code], message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

const base = t.procedure.use(mapErrors);

function rejectInvalid(actor: TActor): void {
  if (actor.kind === 'invalid') throw new TRPCError({ code: 'UNAUTHORIZED', message: actor.reason });
}

export const publicProcedure = base.meta({ access: 'public' }).use(({ ctx, next }) => {
  rejectInvalid(ctx.actor);
  return next();
});

function roleProcedure(required: TRole) {
  return base.meta({ access: required }).use(({ ctx, next }) => {
    const actor = ctx.actor;
    rejectInvalid(actor);
    if (actor.kind === 'anonymous') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in or send a Bearer token' });
    if (actor.kind === 'node') throw new TRPCError({ code: 'FORBIDDEN', message: 'Node tokens may only call agent.* procedures' });
    if (actor.kind !== 'user' && actor.kind !== 'token') throw new TRPCError({ code: 'UNAUTHORIZED' });
    if (actor.role === 'gateway') throw new TRPCError({ code: 'FORBIDDEN', message: 'Gateway tokens may only call admission.* procedures' });
    if (!roleAtLeast(actor.role, required)) {
      throw new TRPCError({ code: 'FORBIDDEN', message: `This needs the ${required} role; you are ${actor.role}` });
    }
    return next({ ctx: { actor: actor as Extract<TActor, { kind: 'user' | 'token' }> & { role: TRole } } });
  });
}

export const viewerProcedure = roleProcedure('viewer');
export const operatorProcedure = roleProcedure('operator');
export const adminProcedure = roleProcedure('admin');

export const agentProcedure = base.meta({ access: 'agent' }).use(({ ctx, next }) => {
  const actor = ctx.actor;
  rejectInvalid(actor);
  if (actor.kind === 'anonymous') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Send the node token as Bearer' });
  if (actor.kind !== 'node') throw new TRPCError({ code: 'FORBIDDEN', message: 'Only enrolled agents may call this' });
  return next({ ctx: { actor } });
});

/** admission.*: the gateway's token, and operators or admins (drills, debugging). */
export const gatewayProcedure = base.meta({ access: 'gateway' }).use(({ ctx, next }) => {
  const actor = ctx.actor;
  rejectInvalid(actor);
  if (actor.kind === 'anonymous') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Send a gateway API token as Bearer' });
  if (actor.kind === 'node') throw new TRPCError({ code: 'FORBIDDEN', message: 'Node tokens may only call agent.* procedures' });
  if (actor.kind !== 'user' && actor.kind !== 'token') throw new TRPCError({ code: 'UNAUTHORIZED' });
  if (actor.role !== 'gateway' && !roleAtLeast(actor.role, 'operator')) {
    throw new TRPCError({ code: 'FORBIDDEN', message: `admission needs a gateway token or the operator role; you are ${actor.role}` });
  }
  return next({ ctx: { actor } });
});
