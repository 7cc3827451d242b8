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
  writeAdmissionMetrics,
  writeFleetMetrics,
  type TConsumeResponse,
  type TServices,
} from '@coolant/api';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { FAST_PATHS, handleAdmissionFastPath } from './admission-fast-path';
import type { TConsoleEnv } from './env';

export const ACTOR_HEADER = 'x-coolant-actor';

type TNextHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

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

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
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
    createContext: ({ req, res }) =>
      createRequestContext(services, {
        authorization: header(req, 'authorization'),
        cookieHeader: header(req, 'cookie'),
        ip: clientIp(req, env),
        userAgent: header(req, 'user-agent'),
        secure: isSecure(req, env),
        appendSetCookie: (value) => res.appendHeader('set-cookie', value),
      }),
    // Batched or GET calls of admission.consume still get the RateLimit fields when there is one answer.
    responseMeta({ paths, data }) {
      if (paths?.length !== 1 || paths[0] !== 'admission.consume') return {};
      const first = data[0] as { result?: { data?: TConsumeResponse } } | undefined;
      return first?.result?.data ? { headers: rateLimitHeaders(first.result.data, services.now().getTime()) } : {};
    },
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`[api] ${path ?? '?'}:`, error.cause ?? error);
    },
  });

  return (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (path === '/api/health') {
      void health(services).then(({ status, body }) => json(res, status, body));
      return;
    }
    if (path === '/metrics') {
      void metrics(services).then(
        (text) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
          res.end(text);
        },
        (error: unknown) => json(res, 503, { error: String((error as Error).message ?? error) }),
      );
      return;
    }
    if (path.startsWith('/api/trpc/')) {
      const procedure = path.slice('/api/trpc/'.length);
      if (req.method === 'POST' && FAST_PATHS.has(procedure) && !url.includes('batch=')) {
        void handleAdmissionFastPath(req, res, procedure, services, {
          authorization: header(req, 'authorization'),
          cookieHeader: header(req, 'cookie'),
          ip: clientIp(req, env),
          userAgent: header(req, 'user-agent'),
          secure: isSecure(req, env),
        });
        return;
      }
      trpc(req, res);
      return;
    }
    void forwardToNext(req, res, opts).catch((error: unknown) => {
      console.error('[console] page error:', error);
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
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
    return { status: 503, body: { status: 'unavailable', db: services.dbProvider, version: services.version, error: String((error as Error).message ?? error) } };
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
