import { TRPCClientError } from '@trpc/client';

/** Exit status of the CLI; documented in USAGE. */
export const EXIT = { ok: 0, failed: 1, usage: 2, denied: 3 } as const;

type TErrorData = { code?: string; httpStatus?: number } | undefined;

export type TDescribedError = { message: string; code: string | null; httpStatus: number | null };

function causes(error: unknown): Error[] {
  const chain: Error[] = [];
  let e: unknown = error;
  while (e instanceof Error && chain.length < 5) {
    chain.push(e);
    e = e.cause;
  }
  return chain;
}

/** Any failure of a call → one line that says what happened and, where it helps, what to do. */
export function describeError(
  error: unknown,
  ctx: { url: string; hasToken: boolean; timeoutMs: number },
): TDescribedError {
  const chain = causes(error);
  if (chain.some((e) => e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return {
      message: `no answer from the console at ${ctx.url} within ${ctx.timeoutMs / 1000} s`,
      code: 'TIMEOUT',
      httpStatus: null,
    };
  }
  if (error instanceof TRPCClientError) {
    const data = error.data as TErrorData;
    if (data?.httpStatus) {
      const hint =
        data.httpStatus === 401 && !ctx.hasToken ? ' (set COOLANT_TOKEN to an API token from the Tokens page)' : '';
      return {
        message: `${data.httpStatus} ${data.code ?? 'ERROR'}: ${error.message}${hint}`,
        code: data.code ?? null,
        httpStatus: data.httpStatus,
      };
    }
    // No tRPC error body: the request never got an answer from a console.
    const network = chain.find((e) => 'code' in e && typeof (e as { code?: unknown }).code === 'string');
    if (network || chain.some((e) => e.message === 'fetch failed')) {
      const reason = network ? network.message : chain.at(-1)!.message;
      return {
        message: `cannot reach the console at ${ctx.url}: ${reason} (is it running? COOLANT_URL)`,
        code: 'UNREACHABLE',
        httpStatus: null,
      };
    }
    return {
      message: `unexpected answer from ${ctx.url}: ${error.message} (is COOLANT_URL a Coolant console?)`,
      code: null,
      httpStatus: null,
    };
  }
  const last = chain.at(-1);
  return { message: last ? last.message : String(error), code: null, httpStatus: null };
}
