/** auth.*: password sign-in and sign-out (the session cookie is set and cleared here). */
import { z } from 'zod';
import { login } from '../domain/auth/login';
import { logout } from '../domain/auth/logout';
import { ZIsoDateTime } from '../domain/iso-date-time';
import { ZRole, ZTokenRole } from '../lib/roles';
import { outputSchemas } from '../openapi/output-schemas';
import { publicProcedure, router } from '../trpc';

export const ZLoginRequest = z.strictObject({
  username: z.string().trim().min(1, 'username is required').max(64),
  password: z.string().min(1, 'password is required').max(1024),
});

export const authRouter = router({
  login: publicProcedure.input(ZLoginRequest).mutation(async ({ ctx, input }) => {
    const result = await login({
      db: ctx.db,
      provider: ctx.dbProvider,
      ...input,
      ip: ctx.request.ip,
      userAgent: ctx.request.userAgent,
      now: ctx.now(),
      pruning: ctx.pruning,
    });
    ctx.cookies.setSession(result.secret, Math.floor((result.expiresAt.getTime() - ctx.now().getTime()) / 1000));
    return { user: result.user, expiresAt: result.expiresAt.toISOString() };
  }),
  logout: publicProcedure.mutation(async ({ ctx }) => {
    const result = await logout({ db: ctx.db, actor: ctx.actor, ip: ctx.request.ip });
    ctx.cookies.clearSession();
    return result;
  }),
  me: publicProcedure.query(({ ctx }) => {
    const a = ctx.actor;
    if (a.kind === 'user' || a.kind === 'token') return { kind: a.kind, id: a.id, name: a.name, role: a.role };
    if (a.kind === 'node') return { kind: a.kind, id: a.id, name: a.name, role: null };
    return null;
  }),
});

export const authOutputs = outputSchemas(authRouter, {
  login: z.object({
    user: z.object({ id: z.string(), username: z.string(), role: ZRole }),
    expiresAt: ZIsoDateTime.describe('When the session cookie set with this answer expires'),
  }),
  logout: z.object({ loggedOut: z.boolean().describe('false when the caller had no session to end') }),
  me: z
    .union([
      z.object({ kind: z.enum(['user', 'token']), id: z.string(), name: z.string(), role: ZTokenRole }),
      z.object({ kind: z.literal('node'), id: z.string(), name: z.string(), role: z.null() }),
    ])
    .nullable()
    .describe('Who the credential is; null for an anonymous caller'),
});
