/** system.*: version and database, and the enrollment secret (read and rotated by admins). */
import { z } from 'zod';
import { rotateEnrollmentSecret } from '../domain/system/bootstrap';
import { outputSchemas } from '../openapi/output-schemas';
import { adminProcedure, publicProcedure, router } from '../trpc';

export const systemRouter = router({
  info: publicProcedure.query(({ ctx }) => ({ version: ctx.version, db: ctx.dbProvider })),
  enrollment: adminProcedure.query(async ({ ctx }) => ({ enrollToken: await ctx.enrollmentSecret() })),
  rotateEnrollment: adminProcedure.mutation(async ({ ctx }) => ({
    enrollToken: await rotateEnrollmentSecret({ db: ctx.db, actor: ctx.actor, ip: ctx.request.ip }),
  })),
});

const ZEnrollmentResponse = z.object({ enrollToken: z.string().describe('The secret agents enroll with') });

export const systemOutputs = outputSchemas(systemRouter, {
  info: z.object({ version: z.string(), db: z.enum(['sqlite', 'postgresql']) }),
  enrollment: ZEnrollmentResponse,
  rotateEnrollment: ZEnrollmentResponse,
});
