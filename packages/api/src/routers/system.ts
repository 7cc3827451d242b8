import { rotateEnrollmentSecret } from '../domain/system/bootstrap';
import { recordAudit } from '../domain/audit/record-audit';
import { adminProcedure, publicProcedure, router } from '../trpc';

export const systemRouter = router({
  info: publicProcedure.query(({ ctx }) => ({ version: ctx.version, db: ctx.dbProvider })),
  enrollment: adminProcedure.query(async ({ ctx }) => ({ enrollToken: await ctx.enrollmentSecret() })),
  rotateEnrollment: adminProcedure.mutation(async ({ ctx }) => {
    const enrollToken = await rotateEnrollmentSecret({ db: ctx.db });
    await recordAudit({ db: ctx.db, actor: ctx.actor, action: 'enrollment.rotate', ip: ctx.request.ip });
    return { enrollToken };
  }),
});
