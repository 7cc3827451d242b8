import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize, describeZodError, nowMs, type TActor, type TAnyHotProcedure, type TServices } from '@coolant/api';
import { TRPCError } from '@trpc/server';
import { OWN_HEADERS, readBody, sendTrpcError, TRPC_HEADERS } from './api-edge';

/** OWN_HEADERS and TRPC_HEADERS as the flat [name, value, …] list writeHead takes, built once. */
const OWN_HEADER_LIST: readonly string[] = Object.entries({ ...OWN_HEADERS, ...TRPC_HEADERS }).flat();

/**
 * A hot procedure (the gateway's admission calls, the agents' reports) sent
 * as a single unbatched POST, served by plain node:http from the router's
 * own declaration (HOT_PROCEDURES): the same access function, zod schema,
 * handler, headers and body cap, without tRPC's adapter and middleware chain
 * (which copies the context per middleware and costs more than the decision).
 * The wire format is exactly tRPC's; the parity test holds the two paths to
 * identical answers. The edge (api-edge.ts) has checked content type, origin
 * and Content-Length already, and the caller is authenticated before its body
 * is read (agent.report takes up to 8 MiB).
 */
export async function serveHotProcedure(
  req: IncomingMessage,
  res: ServerResponse,
  def: TAnyHotProcedure,
  services: TServices,
  actor: Promise<TActor>,
): Promise<void> {
  let input: unknown;
  try {
    const allowed = authorize(def.access, await actor);
    const raw = await readBody(req, def.maxBody);
    try {
      input = raw.length ? JSON.parse(raw) : undefined;
    } catch {
      throw new TRPCError({ code: 'PARSE_ERROR', message: 'request body is not valid JSON' });
    }
    const parsed = def.input.safeParse(input);
    if (!parsed.success)
      throw new TRPCError({ code: 'BAD_REQUEST', message: describeZodError(parsed.error), cause: parsed.error });
    const data = await def.handler(parsed.data, allowed, services);
    const text = JSON.stringify({ result: { data } });
    // Headers and body go out in one write (Node joins a string body to the header block). A flat
    // list in the order the object had (the same header block), without an object spread per answer.
    const headers: (string | number)[] = [
      'content-type',
      'application/json',
      'content-length',
      Buffer.byteLength(text),
    ];
    for (const h of OWN_HEADER_LIST) headers.push(h);
    if (def.headers) {
      const own = def.headers(data, nowMs());
      for (const name in own) headers.push(name, own[name]!);
    }
    res.writeHead(200, headers);
    res.end(text);
  } catch (cause) {
    sendTrpcError(req, res, cause, def.path, { input });
  }
}
