import type { AppRouter } from '@coolant/api/client';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';

export type TApiClient = ReturnType<typeof createApiClient>;

/**
 * An HTTP error whose body is not tRPC's JSON (nginx's 413 page, a proxy's 502): without this the
 * client reports a JSON parse error and the status is lost.
 */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The agent's only way to the console: HTTP with its own node token, no database credentials. */
export function createApiClient(server: string, getToken: () => string | null) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${server}/api/trpc`,
        headers: () => {
          const token = getToken();
          return token ? { authorization: `Bearer ${token}` } : {};
        },
        fetch: async (url, init) => {
          const res = await fetch(url, init as RequestInit);
          if (!res.ok && !(res.headers.get('content-type') ?? '').includes('json')) {
            const body = (await res.text().catch(() => ''))
              .replace(/<[^>]*>/g, ' ')
              .replace(/\s+/g, ' ')
              .trim()
              .slice(0, 200);
            throw new HttpStatusError(res.status, `HTTP ${res.status}${body ? `: ${body}` : ''}`);
          }
          return res;
        },
      }),
    ],
  });
}

export function errorCode(error: unknown): string | null {
  return error instanceof TRPCClientError ? ((error.data as { code?: string } | undefined)?.code ?? null) : null;
}

/** The HTTP status of a failed call, when the console (or a proxy before it) answered at all. */
export function httpStatus(error: unknown): number | null {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof HttpStatusError) return e.status;
    if (e instanceof TRPCClientError) {
      const status =
        (e.data as { httpStatus?: number } | undefined)?.httpStatus ??
        (e.meta?.response as { status?: number } | undefined)?.status;
      if (typeof status === 'number') return status;
    }
  }
  return null;
}

/** The connection was cut under the request (what the console does today to a body over its cap). */
export function connectionReset(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: string }).code;
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return true;
  }
  return false;
}

/** Issue paths of a 400 from the console's input validation (`samples.3.gpus`), empty when it gave none. */
export function issuePaths(error: unknown): string[] {
  if (!(error instanceof TRPCClientError)) return [];
  const issues = (error.data as { issues?: { path?: string }[] } | undefined)?.issues;
  return Array.isArray(issues) ? issues.map((i) => String(i.path ?? '')) : [];
}
