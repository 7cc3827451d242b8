import type { AppRouter } from '@coolant/api/client';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { TCliEnv } from './env';

export type TClient = ReturnType<typeof createClient>;
export type TTiersList = Awaited<ReturnType<TClient['tiers']['list']['query']>>;
export type TConsumeResult = Awaited<ReturnType<TClient['admission']['consume']['mutate']>>;

/** Plain httpLink, no batching: one CLI command is one or two calls, and unbatched admission calls take the console's fast path. */
export function createClient(env: TCliEnv) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${env.COOLANT_URL}/api/trpc`,
        headers: () => (env.COOLANT_TOKEN ? { authorization: `Bearer ${env.COOLANT_TOKEN}` } : {}),
      }),
    ],
  });
}
