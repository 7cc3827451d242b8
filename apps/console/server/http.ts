import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  appRouter,
  authenticateRequest,
  createRequestContext,
  MetricsWriter,
  parseCookies,
  rateLimitHeaders,
  SESSION_COOKIE,
  isDatabaseUnavailable,
  toTRPCError,
  writeAdmissionMetrics,
  writeFleetMetrics,
  type TConsumeResponse,
  type TServices,
} from '@coolant/api';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { FAST_PATHS, handleAdmissionFastPath } from './admission-fast-path';
import { checkApiRequest, DEFAULT_MAX_BODY, header, logApiError, readBody, sendTrpcError } from './api-edge';
import type { TConsoleEnv } from './env';

export const ACTOR_HEADER = 'x-coolant-actor';

type TNextHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function clientIp(req: IncomingMessage, env: Pick<TConsoleEnv, 'COOLANT_TRUST_PROXY'>): string | null {
  if (env.COOLANT_TRUST_PROXY) {
    const fwd = header(req, 'x-forwarded-for');
    if (fwd) return fwd.split(',')[0]!.trim();
  }
  return req.socket.remoteAddress ?? null;
}

export function isSecure(req: IncomingMessage, env: Pick<TConsoleEnv, 'COOLANT_SECURE_COOKIES' | 'COOLANT_TRUST_PROXY'>): boolean {
  if (env.COOLANT_SECURE_COOKIES === 'always') return true;
  if (env.COOLANT_SECURE_COOKIES === 'never') return false;
  if ((req.socket as TLSSocket).encrypted) return true;
  return env.COOLANT_TRUST_PROXY && header(req, 'x-forwarded-proto') === 'https';
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

let lastLoggedFailure = '';

/** The driver's message goes to the log (once per distinct message, health is polled); the client gets a plain word. */
function logFailure(what: string, error: unknown): string {
  const message = String((error as Error)?.message ?? error);
  if (message !== lastLoggedFailure) {
    lastLoggedFailure = message;
    console.error(`[console] ${what}:`, message);
  }
  return isDatabaseUnavailable(error) ? 'database unavailable' : `${what} failed (logged on the console)`;
}

/**
 * The console's one HTTP entry point. The API is served by plain node:http and
 * tRPC's node adapter, outside Next's request pipeline (several times faster,
 * see product notes); everything else goes to Next.
 */
export function createRequestListener(opts: { services: TServices; env: TConsoleEnv; next: TNextHandler }): RequestListener {
  const { services, env } = opts;
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/api/trpc/',
    // The edge has read (and capped) the body already; this is the adapter's own backstop.
    maxBodySize: DEFAULT_MAX_BODY,
    createContext: async ({ req, res }) => {
      try {
        return await createRequestContext(services, {
          authorization: header(req, 'authorization'),
          cookieHeader: header(req, 'cookie'),
          ip: clientIp(req, env),
          userAgent: header(req, 'user-agent'),
          secure: isSecure(req, env),
          appendSetCookie: (value) => res.appendHeader('set-cookie', value),
        });
      } catch (error) {
        // Authentication reads the database: an outage is a 503, not tRPC's default 500 with Prisma's message.
        throw toTRPCError(error);
      }
    },
    // Batched or GET calls of admission.consume still get the RateLimit fields when there is one answer.
    responseMeta({ paths, data, errors }) {
      if (errors.some((e) => e.code === 'SERVICE_UNAVAILABLE')) return { headers: { 'retry-after': '1' } };
      if (paths?.length !== 1 || paths[0] !== 'admission.consume') return {};
      const first = data[0] as { result?: { data?: TConsumeResponse } } | undefined;
      return first?.result?.data ? { headers: rateLimitHeaders(first.result.data, services.now().getTime()) } : {};
    },
    onError({ error, path }) {
      logApiError(path, error);
    },
  });

  return (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (path === '/api/health') {
      void health(services).then(({ status, body }) => json(res, status, body, status === 503 ? { 'retry-after': '1' } : {}));
      return;
    }
    if (path === '/metrics') {
      void metrics(services).then(
        (text) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
          res.end(text);
        },
        (error: unknown) => json(res, 503, { error: logFailure('metrics', error) }, { 'retry-after': '1' }),
      );
      return;
    }
    if (path.startsWith('/api/trpc/')) {
      const procedure = path.slice('/api/trpc/'.length);
      const fast = req.method === 'POST' && FAST_PATHS.has(procedure) && !url.includes('batch=');
      const maxBody = fast ? FAST_PATHS.get(procedure)! : DEFAULT_MAX_BODY;
      const refused = checkApiRequest(req, env, maxBody);
      if (refused) {
        sendTrpcError(req, res, refused, procedure);
        return;
      }
      if (fast) {
        // Reads its body only after the caller is authenticated (agent.report takes up to 8 MiB).
        void handleAdmissionFastPath(req, res, procedure, services, {
          authorization: header(req, 'authorization'),
          cookieHeader: header(req, 'cookie'),
          ip: clientIp(req, env),
          userAgent: header(req, 'user-agent'),
          secure: isSecure(req, env),
        });
        return;
      }
      // The adapter buffers whatever it is given: it gets the body read here under the cap.
      readBody(req, maxBody).then(
        (body) => {
          if (req.method !== 'GET' && req.method !== 'HEAD') (req as IncomingMessage & { body?: string }).body = body;
          trpc(req, res);
        },
        (error: unknown) => sendTrpcError(req, res, toTRPCError(error), procedure),
      );
      return;
    }
    void forwardToNext(req, res, opts).catch((error: unknown) => {
      if (res.headersSent) return;
      if (isDatabaseUnavailable(error)) {
        logFailure('page', error);
        json(res, 503, { error: 'database unavailable' }, { 'retry-after': '1' });
        return;
      }
      console.error('[console] page error:', error);
      json(res, 500, { error: 'internal error' });
    });
  };
}

async function metrics(services: TServices): Promise<string> {
  const m = new MetricsWriter();
  m.family('coolant_info', 'gauge', 'Coolant version and database of this console instance.', [
    { labels: { version: services.version, db: services.dbProvider, instance: services.config.instanceId }, value: 1 },
  ]);
  writeAdmissionMetrics(services, m);
  await writeFleetMetrics(services, m);
  return m.toString();
}

async function health(services: TServices): Promise<{ status: number; body: unknown }> {
  try {
    await services.db.$queryRawUnsafe('SELECT 1');
    return { status: 200, body: { status: 'ok', db: services.dbProvider, version: services.version } };
  } catch (error) {
    return { status: 503, body: { status: 'unavailable', db: services.dbProvider, version: services.version, error: logFailure('health check', error) } };
  }
}

/**
 * Pages learn who is asking from a header this server sets after checking the
 * session itself; whatever a client sent under that name is discarded first.
 */
async function forwardToNext(req: IncomingMessage, res: ServerResponse, opts: { services: TServices; next: TNextHandler }): Promise<void> {
  delete req.headers[ACTOR_HEADER];
  const path = (req.url ?? '/').split('?')[0]!;
  if (!path.startsWith('/_next/') && !path.startsWith('/favicon')) {
    const cookie = parseCookies(header(req, 'cookie')).get(SESSION_COOKIE) ?? null;
    if (cookie) {
      const actor = await authenticateRequest({ db: opts.services.db, authorization: null, sessionCookie: cookie, now: opts.services.now() });
      if (actor.kind === 'user') {
        req.headers[ACTOR_HEADER] = encodeURIComponent(JSON.stringify({ id: actor.id, name: actor.name, role: actor.role }));
      }
    }
  }
  await opts.next(req, res);
}
