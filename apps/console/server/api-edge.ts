import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorAnswer, parseCookies, SESSION_COOKIE, type TContext } from '@coolant/api';
import { TRPCError } from '@trpc/server';
import type { TConsoleEnv } from './env';

/**
 * What every /api/trpc request goes through before a procedure runs, on the
 * fast path and on tRPC's adapter alike: a body cap enforced without
 * buffering what is over it, JSON-only POSTs, and a refusal of
 * cookie-authenticated calls from another origin (CSRF). Headers only, so an
 * attacker's request costs the console about what it costs the attacker.
 */

/** The cap of every API body unless a hot procedure names its own (agent.report: 8 MiB, admission: 16 KiB). */
export const DEFAULT_MAX_BODY = 1024 * 1024;

/**
 * On every answer this server writes itself (/api/*, /metrics, its own error
 * answers); Next sets its own on pages. JSON is never to be sniffed, cached
 * or rendered as a document.
 */
export const OWN_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

/**
 * On every tRPC answer (tRPC's adapter sets it on each of its own): the answer's format follows the
 * request's trpc-accept and accept headers. Written here for the tRPC answers the console writes itself
 * (the hot path's, and the errors of both paths that this edge answers before tRPC).
 */
export const TRPC_HEADERS: Readonly<Record<string, string>> = { vary: 'trpc-accept, accept' };

/** An unread rest this small is drained so the connection stays usable; a larger one closes it. */
const DRAIN_UP_TO = 64 * 1024;

export function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

function declaredLength(req: IncomingMessage): number | null {
  const v = header(req, 'content-length');
  return v !== null && /^\d+$/.test(v) ? Number(v) : null;
}

export function tooLarge(maxBody: number): TRPCError {
  return new TRPCError({
    code: 'PAYLOAD_TOO_LARGE',
    message: `request body over ${maxBody} bytes; send less per call`,
  });
}

/**
 * The body as text, refused as soon as Content-Length or the bytes so far pass
 * `maxBody`; the rest is never read (the error answer closes the connection).
 */
export function readBody(req: IncomingMessage, maxBody: number): Promise<string> {
  const declared = declaredLength(req);
  if (declared !== null && declared > maxBody) return Promise.reject(tooLarge(maxBody));
  if (req.readableEnded || (declared === 0 && !req.headers['transfer-encoding'])) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > maxBody) {
        cleanup();
        req.pause();
        reject(tooLarge(maxBody));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      // A small body is one chunk: decoded where it lies, not copied first.
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** After such an answer: how long, and how much of the unread rest, is discarded before the socket is dropped. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 16 * 1024 * 1024;

/**
 * Before answering a request whose body was not (fully) read: a small rest is
 * left to Node to discard, a large or unknown one closes the connection after
 * the answer instead of being received (an over-cap upload, an
 * unauthenticated agent.report). The close lingers: a socket dropped with
 * bytes still arriving sends a reset, and the sender (fetch, node:http) then
 * reports EPIPE instead of reading the 413 it was sent. So the answer goes
 * out with a FIN, and what keeps arriving is discarded (never buffered) up to
 * LINGER_BYTES, then no longer read; the socket is closed after LINGER_MS, or
 * when the sender hangs up.
 */
export function settleUnreadBody(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || res.headersSent) return;
  const declared = declaredLength(req);
  if (declared !== null && declared <= DRAIN_UP_TO) return;
  res.setHeader('connection', 'close');
  const socket = req.socket;
  // Node calls destroySoon() once a `connection: close` answer is written; end() alone keeps the read side open.
  socket.destroySoon = () => {
    socket.end();
    let discarded = 0;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    req.on('data', (c: Buffer) => {
      discarded += c.length;
      // Past the byte bound stop reading rather than close: closing with unread data sends a
      // reset, and a reset can take the 413 still unread in the sender's buffer with it (seen as
      // EPIPE with no answer on a fast loopback). A paused socket costs nothing until the timer.
      if (discarded > LINGER_BYTES) req.pause();
    });
    req.resume();
  };
}

let lastUnavailableLog = 0;

/**
 * Logs what the client is not told: every 500 with its cause, and a 503's
 * cause at most every 5 s (under load an outage fails thousands of calls a second).
 */
export function logApiError(path: string | undefined, error: TRPCError): void {
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    console.error(`[api] ${path ?? '?'}:`, error.cause ?? error);
  } else if (error.code === 'SERVICE_UNAVAILABLE' && Date.now() - lastUnavailableLog > 5_000) {
    lastUnavailableLog = Date.now();
    const cause = error.cause as { message?: unknown; details?: { cause?: unknown } } | undefined;
    console.error(
      `[api] ${path ?? '?'}: ${error.message}:`,
      String(cause?.details?.cause ?? cause?.message ?? cause ?? ''),
    );
  }
}

/**
 * A tRPC-shaped error answer (what any tRPC client or the agent reads), for
 * errors raised outside the adapter: status, headers and shape come from the
 * one mapping (errorAnswer). `batch`: a failure of each call (the caller
 * could not be authenticated), one error per call named, as the adapter
 * answers a context that fails; otherwise one error object.
 */
export function sendTrpcError(
  req: IncomingMessage,
  res: ServerResponse,
  cause: unknown,
  path: string | undefined,
  extra: { input?: unknown; ctx?: TContext; batch?: boolean } = {},
): void {
  settleUnreadBody(req, res);
  const paths = extra.batch && path ? path.split(',') : [path];
  const answers = paths.map((p) => errorAnswer(cause, { path: p, input: extra.input, ctx: extra.ctx }));
  const first = answers[0]!;
  logApiError(path, first.error);
  const text = JSON.stringify(extra.batch ? answers.map((a) => ({ error: a.shape })) : { error: first.shape });
  res.writeHead(first.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...OWN_HEADERS,
    ...TRPC_HEADERS,
    ...first.headers,
  });
  res.end(text);
}

function isJson(req: IncomingMessage): boolean {
  const type = header(req, 'content-type')?.split(';', 1)[0]?.trim().toLowerCase();
  return type === 'application/json';
}

/** host[:port] the browser addressed, as an Origin of the same scheme would spell it. */
function ownHost(req: IncomingMessage, env: Pick<TConsoleEnv, 'COOLANT_TRUST_PROXY'>, protocol: string): string | null {
  const forwarded = env.COOLANT_TRUST_PROXY ? header(req, 'x-forwarded-host')?.split(',')[0]?.trim() : undefined;
  const host = forwarded || header(req, 'host');
  if (!host) return null;
  try {
    return new URL(`${protocol}//${host}`).host.toLowerCase();
  } catch {
    return null;
  }
}

/** Why a cookie-authenticated call from another site is refused, or null when it is not cross-site. */
function crossOrigin(req: IncomingMessage, env: Pick<TConsoleEnv, 'COOLANT_TRUST_PROXY'>): string | null {
  const origin = header(req, 'origin');
  if (origin) {
    const url = URL.canParse(origin) ? new URL(origin) : null;
    const own = ownHost(req, env, url?.protocol ?? 'http:');
    if (url && url.host && url.host.toLowerCase() === own) return null;
    // Naming the host we compared with: behind a proxy that rewrites Host, this is the line that says why.
    return `cross-origin request refused: Origin ${origin} is not this console (${own ?? 'no Host header'}); a session cookie works only from the console's own pages, API clients send a Bearer token (behind a reverse proxy: pass the Host header, or X-Forwarded-Host with COOLANT_TRUST_PROXY=true)`;
  }
  // Browsers that omit Origin still say where the request came from; curl and the CLI send neither.
  const site = header(req, 'sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') {
    return `cross-origin request refused: Sec-Fetch-Site is ${site}; a session cookie works only from the console's own pages (API clients send a Bearer token)`;
  }
  return null;
}

/** The checks on headers alone; an error to answer with, or null to go on. */
export function checkApiRequest(
  req: IncomingMessage,
  env: Pick<TConsoleEnv, 'COOLANT_TRUST_PROXY'>,
  maxBody: number,
): TRPCError | null {
  if (req.method === 'POST') {
    if (!isJson(req)) {
      const got = header(req, 'content-type');
      return new TRPCError({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: got ? `content-type must be application/json, not ${got}` : 'content-type must be application/json',
      });
    }
    const cookieAuth = !header(req, 'authorization') && parseCookies(header(req, 'cookie')).has(SESSION_COOKIE);
    if (cookieAuth) {
      const refused = crossOrigin(req, env);
      if (refused) return new TRPCError({ code: 'FORBIDDEN', message: refused });
    }
  }
  const declared = declaredLength(req);
  if (declared !== null && declared > maxBody) return tooLarge(maxBody);
  return null;
}
