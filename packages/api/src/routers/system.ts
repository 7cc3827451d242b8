/** system.*: version and database, and the enrollment secret (read and rotated by admins). */
import { rotateEnrollmentSecret } from '../domain/system/bootstrap';
import { adminProcedure, publicProcedure, router } from '../trpc';

export const systemRouter = router({
  info: publicProcedure.query(({ ctx }) => ({ version: ctx.version, db: ctx.dbProvider })),
  enrollment: adminProcedure.query(async ({ ctx }) => ({ enrollToken: await ctx.enrollmentSecret() })),
  rotateEnrollment: adminProcedure.mutation(async ({ ctx }) => ({
    enrollToken: await rotateEnrollmentSecret({ db: ctx.db, actor: ctx.actor, ip: ctx.request.ip }),
  })),
});
