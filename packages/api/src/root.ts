import { admissionRouter } from './routers/admission';
import { agentRouter } from './routers/agent';
import { auditRouter } from './routers/audit';
import { authRouter } from './routers/auth';
import { capacityRouter } from './routers/capacity';
import { fleetRouter } from './routers/fleet';
import { guardRouter } from './routers/guard';
import { notificationsRouter } from './routers/notifications';
import { smokeRouter } from './routers/smoke';
import { systemRouter } from './routers/system';
import { tiersRouter } from './routers/tiers';
import { tokensRouter } from './routers/tokens';
import { usersRouter } from './routers/users';
import { createCallerFactory, router } from './trpc';

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  tokens: tokensRouter,
  fleet: fleetRouter,
  agent: agentRouter,
  audit: auditRouter,
  tiers: tiersRouter,
  admission: admissionRouter,
  smoke: smokeRouter,
  guard: guardRouter,
  capacity: capacityRouter,
  notifications: notificationsRouter,
  system: systemRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
