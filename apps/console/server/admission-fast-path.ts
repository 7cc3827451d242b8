import type { IncomingMessage, ServerResponse } from 'node:http';
import { appRouter, createRequestContext, rateLimitHeaders, toTRPCError, type TConsumeResponse, type TIncomingRequest, type TServices } from '@coolant/api';
import { TRPCError } from '@trpc/server';
import { logApiError, readBody, sendTrpcError } from './api-edge';

/** Hot procedures served without tRPC's HTTP adapter, with the largest body each accepts. */
export const FAST_PATHS = new Map<string, number>([
  ['admission.consume', 16 * 1024],
  ['admission.refund', 16 * 1024],
  // A spool drained after an outage: up to 100 samples of up to 64 GPUs.
  ['agent.report', 8 * 1024 * 1024],
]);

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * The hot paths (the gateway's admission calls, the agents' reports): a single
 * (unbatched) POST answered by plain node:http calling the router's own
 * procedure (same auth middleware, same zod input, same domain code) without
 * tRPC's HTTP adapter, which costs several times more per request. The wire
 * format is exactly tRPC's, so any tRPC client or curl can call it. The edge
 * (api-edge.ts) has checked content type, origin and Content-Length already.
 */
export async function handleAdmissionFastPath(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  services: TServices,
  incoming: Omit<TIncomingRequest, 'appendSetCookie'>,
): Promise<void> {
  let ctx;
  let input: unknown;
  try {
    ctx = await createRequestContext(services, { ...incoming, appendSetCookie: () => {} });
    // The procedure itself (its middlewares and input parser), without building a caller proxy per request.
    const procedure = (appRouter._def.procedures as unknown as Record<string, unknown>)[path] as (opts: {
      ctx: unknown;
      getRawInput: () => Promise<unknown>;
      path: string;
      type: 'mutation';
      signal: undefined;
      batchIndex: number;
    }) => Promise<unknown>;
    // The input parser runs after the auth middleware, so the body is read only for a caller allowed to send it.
    const getRawInput = async () => {
      const raw = await readBody(req, FAST_PATHS.get(path) ?? 16 * 1024);
      try {
        input = raw.length ? JSON.parse(raw) : undefined;
      } catch {
        throw new TRPCError({ code: 'PARSE_ERROR', message: 'request body is not valid JSON' });
      }
      return input;
    };
    const result = await procedure({ ctx, getRawInput, path, type: 'mutation', signal: undefined, batchIndex: 0 });
    const headers = path === 'admission.consume' ? rateLimitHeaders(result as TConsumeResponse, services.now().getTime()) : {};
    send(res, 200, { result: { data: result } }, headers);
  } catch (cause) {
    const error = toTRPCError(cause);
    logApiError(path, error);
    sendTrpcError(req, res, error, path, { input, ctx });
  }
}
