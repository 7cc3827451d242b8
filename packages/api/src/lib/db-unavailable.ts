/**
 * One answer to "is this error the database being unreachable?", used by the
 * tRPC error mapping and by the console's HTTP edge (fast path, health), so
 * an outage reads as 503 + Retry-After everywhere instead of a 500 carrying
 * Prisma's internal message. A busy SQLite (SQLITE_BUSY) is not an outage:
 * it is a lock held too long and stays an error of its own.
 */

export const DATABASE_UNAVAILABLE = 'database unavailable';

// Prisma: can't reach / timed out / server closed the connection / pool timeout.
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
// Node's sockets and pg's SQLSTATEs for a server that is gone, going or refusing connections.
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const PG_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
// Prisma's driver-adapter error kinds (meta.driverAdapterError.cause.kind).
const ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'DatabaseDoesNotExist',
]);
const MESSAGES =
  /Can't reach database server|Connection terminated|Timed out fetching a new connection|Server has closed the connection|the database system is (shutting down|starting up)/i;

type TErrorLike = {
  code?: unknown;
  errorCode?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  meta?: unknown;
};

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  const e = error as TErrorLike;
  for (const code of [e.code, e.errorCode]) {
    if (typeof code !== 'string') continue;
    if (PRISMA_CODES.has(code) || SOCKET_CODES.has(code) || PG_STATES.has(code) || code.startsWith('08')) return true;
  }
  const adapter = (e.meta as { driverAdapterError?: { cause?: { kind?: unknown } } } | undefined)?.driverAdapterError
    ?.cause?.kind;
  if (typeof adapter === 'string' && ADAPTER_KINDS.has(adapter)) return true;
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
