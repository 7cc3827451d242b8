import type { AppRouter } from '@coolant/api/client';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';

export type TApiClient = ReturnType<typeof createApiClient>;

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
      }),
    ],
  });
}

export function errorCode(error: unknown): string | null {
  return error instanceof TRPCClientError ? ((error.data as { code?: string } | undefined)?.code ?? null) : null;
}
