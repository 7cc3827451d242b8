import { agentRouter } from './routers/agent';
import { auditRouter } from './routers/audit';
import { authRouter } from './routers/auth';
import { fleetRouter } from './routers/fleet';
import { systemRouter } from './routers/system';
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
  system: systemRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
