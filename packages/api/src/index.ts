export { appRouter, createCaller, type AppRouter } from './root';
export { authenticateIncoming, createRequestContext, parseCookies, type TIncomingRequest } from './create-context';
export { SESSION_COOKIE, type TActor, type TContext, type TServices } from './context';
export { authenticateRequest } from './domain/auth/authenticate-request';
export { ensureAdmin, ensureEnrollmentSecret, ensureEnvAdminToken } from './domain/system/bootstrap';
export { recordAudit } from './domain/audit/record-audit';
export { AppError } from './lib/app-error';
export { ROLES, type TRole } from './lib/roles';
export type { TAccess, TMeta } from './trpc';
export { startServices, type TRunningServices } from './services';
export type { TConsumeResponse, TPolicy } from './domain/admission/types';
export { ZConsumeRequest } from './routers/admission';
export { describeZodError, toTRPCError } from './trpc';
export { DATABASE_UNAVAILABLE, isDatabaseUnavailable } from './lib/db-unavailable';
export { rateLimitHeaders } from './lib/rate-limit-headers';
export { CredentialCache, CREDENTIAL_CACHE_MS } from './domain/auth/credential-cache';
export { MetricsWriter } from './lib/prometheus';
export { writeAdmissionMetrics } from './domain/admission/admission-metrics';
export { writeFleetMetrics } from './domain/fleet/fleet-metrics';
export { writeCapacityMetrics } from './domain/capacity/capacity-metrics';
export { writeNotificationMetrics } from './domain/notifications/notification-metrics';
export { getGuard } from './domain/guard/get-guard';
export {
  SIGNAL_KINDS,
  SIGNAL_LABELS,
  DEFAULT_GUARD_CONFIG,
  type TGuardConfig,
  type TGuardConfigInput,
} from './domain/guard/guard-config';
export { authorize, type TActorFor } from './lib/authorize';
export { HOT_PROCEDURES, type TAnyHotProcedure } from './hot-procedures';
export type { THotProcedure } from './hot-procedure';
export { errorAnswer, errorHeaders, resultHeaders, type TErrorAnswer } from './http-answer';
export { nowMs, systemNow } from './lib/clock';
export { buildOpenApiDocument, listProcedures, type TProcedureDoc } from './openapi/build-document';
