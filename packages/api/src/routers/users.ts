/** users.*: console users: list, create and update (role, disabled, password). */
import { z } from 'zod';
import { createUser, listUsers, updateUser } from '../domain/users/users';
import { ZIsoDateTime } from '../domain/iso-date-time';
import { ZRole } from '../lib/roles';
import { outputSchemas } from '../openapi/output-schemas';
import { adminProcedure, router } from '../trpc';

const ZUsername = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-zA-Z0-9._@-]+$/, 'letters, digits and . _ @ - only');
const ZPassword = z.string().min(10, 'at least 10 characters').max(1024);

export const usersRouter = router({
  list: adminProcedure.query(({ ctx }) => listUsers({ db: ctx.db })),
  create: adminProcedure
    .input(z.strictObject({ username: ZUsername, password: ZPassword, role: ZRole }))
    .mutation(({ ctx, input }) => createUser({ db: ctx.db, actor: ctx.actor, ...input, ip: ctx.request.ip })),
  update: adminProcedure
    .input(
      z.strictObject({
        id: z.string().min(1),
        role: ZRole.optional(),
        disabled: z.boolean().optional(),
        password: ZPassword.optional(),
        reason: z.string().max(500).optional(),
      }),
    )
    .mutation(({ ctx, input }) =>
      updateUser({ db: ctx.db, actor: ctx.actor, ...input, ip: ctx.request.ip, now: ctx.now() }),
    ),
});

/** A user as admins see it: never the password hash. */
const ZUserResponse = z.object({
  id: z.string(),
  username: z.string(),
  role: z.string().describe('viewer, operator or admin'),
  disabled: z.boolean(),
  createdAt: ZIsoDateTime,
});

export const usersOutputs = outputSchemas(usersRouter, {
  list: z.array(ZUserResponse),
  create: ZUserResponse,
  update: ZUserResponse,
});
