export { appRouter, createCaller, type AppRouter } from './root';
export { createRequestContext, parseCookies, type TIncomingRequest } from './create-context';
export { SESSION_COOKIE, type TActor, type TContext, type TServices } from './context';
export { authenticateRequest } from './domain/auth/authenticate-request';
export { ensureAdmin, ensureEnrollmentSecret, ensureEnvAdminToken } from './domain/system/bootstrap';
export { recordAudit } from './domain/audit/record-audit';
export { AppError } from './lib/app-error';
export { ROLES, type TRole } from './lib/roles';
export type { TAccess, TMeta } from './trpc';
