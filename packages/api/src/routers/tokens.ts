/** tokens.*: API tokens: list, create (the secret is shown once) and revoke. */
import { z } from 'zod';
import { createApiToken } from '../domain/tokens/create-api-token';
import { listApiTokens } from '../domain/tokens/list-api-tokens';
import { revokeApiToken } from '../domain/tokens/revoke-api-token';
import { ZIsoDateTime } from '../domain/iso-date-time';
import { ZTokenRole } from '../lib/roles';
import { outputSchemas } from '../openapi/output-schemas';
import { adminProcedure, router } from '../trpc';

export const ZCreateApiTokenRequest = z.strictObject({
  name: z.string().trim().min(1, 'name is required').max(100),
  role: ZTokenRole,
  reason: z.string().max(500).optional(),
});

export const tokensRouter = router({
  list: adminProcedure
    .input(z.strictObject({ includeRevoked: z.boolean().default(false) }).optional())
    .query(({ ctx, input }) => listApiTokens({ db: ctx.db, includeRevoked: input?.includeRevoked ?? false })),
  create: adminProcedure
    .input(ZCreateApiTokenRequest)
    .mutation(({ ctx, input }) => createApiToken({ db: ctx.db, actor: ctx.actor, ...input, ip: ctx.request.ip })),
  revoke: adminProcedure
    .input(z.strictObject({ id: z.string().min(1), reason: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) =>
      revokeApiToken({ config: ctx.config, actor: ctx.actor, ...input, ip: ctx.request.ip, now: ctx.now() }),
    ),
});

export const tokensOutputs = outputSchemas(tokensRouter, {
  list: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      role: z.string().describe('viewer, operator, admin or gateway'),
      prefix: z.string().describe("The secret's first characters, to recognise it"),
      createdBy: z.string().nullable(),
      createdAt: ZIsoDateTime,
      lastUsedAt: ZIsoDateTime.nullable(),
      revokedAt: ZIsoDateTime.nullable(),
      revokedBy: z.string().nullable(),
      fromEnv: z.boolean().describe("The console's COOLANT_ADMIN_TOKEN"),
    }),
  ),
  create: z.object({
    id: z.string(),
    name: z.string(),
    role: ZTokenRole,
    prefix: z.string(),
    secret: z.string().describe('The Bearer token: shown once, never stored'),
  }),
  revoke: z.object({ id: z.string(), revokedAt: ZIsoDateTime }),
});
