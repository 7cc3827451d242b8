import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  appRouter,
  authenticateIncoming,
  authenticateRequest,
  authorize,
  createRequestContext,
  errorHeaders,
  HOT_PROCEDURES,
  MetricsWriter,
  parseCookies,
  resultHeaders,
  SESSION_COOKIE,
  isDatabaseUnavailable,
  writeAdmissionMetrics,
  writeCapacityMetrics,
  writeFleetMetrics,
  writeNotificationMetrics,
  type TActor,
  type TContext,
  type TServices,
} from '@coolant/api';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import {
  checkApiRequest,
  DEFAULT_MAX_BODY,
  header,
  logApiError,
  OWN_HEADERS,
  readBody,
  sendTrpcError,
} from './api-edge';
import { serveHotProcedure } from './hot-path';
import { NGINX_AUTH_PATH, serveNginxAuth } from './nginx-auth';
import { sendOpenApiDocument } from './openapi-route';
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

export function isSecure(
  req: IncomingMessage,
  env: Pick<TConsoleEnv, 'COOLANT_SECURE_COOKIES' | 'COOLANT_TRUST_PROXY'>,
): boolean {
  if (env.COOLANT_SECURE_COOKIES === 'always') return true;
  if (env.COOLANT_SECURE_COOKIES === 'never') return false;
  if ((req.socket as TLSSocket).encrypted) return true;
  return env.COOLANT_TRUST_PROXY && header(req, 'x-forwarded-proto') === 'https';
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...OWN_HEADERS,
    ...headers,
  });
  res.end(text);
}

/** The contexts the edge built (authenticated before the body was read), handed to the adapter's createContext. */
const contexts = new WeakMap<IncomingMessage, TContext>();

/**
 * The body cap of an adapter call: the largest of its procedures' caps, where
 * a hot procedure's cap above the default counts only for a caller allowed to
 * call it (an anonymous batch to agent.report is not buffered up to 8 MiB).
 * `actor` null: before authentication, the largest any caller may send.
 */
function adapterBodyCap(paths: string[], actor: TActor | null): number {
  let cap = 0;
  for (const path of paths) {
    const def = HOT_PROCEDURES.get(path);
    let c = def?.maxBody ?? DEFAULT_MAX_BODY;
    if (def && actor && c > DEFAULT_MAX_BODY) {
      try {
        authorize(def.access, actor);
      } catch {
        c = DEFAULT_MAX_BODY;
      }
    }
    cap = Math.max(cap, c);
  }
  return cap || DEFAULT_MAX_BODY;
}

/** Headers of an adapter answer: the RateLimit fields of a single decision, the longest Retry-After of its errors. */
function adapterHeaders(
  paths: readonly string[] | undefined,
  data: readonly unknown[],
  errors: Parameters<typeof errorHeaders>[0][],
  nowMs: number,
): Record<string, string> {
  if (errors.length) {
    let retry: string | undefined;
    for (const e of errors) {
      const r = errorHeaders(e)['retry-after'];
      if (r && (!retry || Number(r) > Number(retry))) retry = r;
    }
    return retry ? { 'retry-after': retry } : {};
  }
  if (paths?.length !== 1) return {};
  const first = data[0] as { result?: { data?: unknown } } | undefined;
  return (first?.result && resultHeaders(paths[0]!, first.result.data, nowMs)) || {};
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
export function createRequestListener(opts: {
  services: TServices;
  env: TConsoleEnv;
  next: TNextHandler;
}): RequestListener {
  const { services, env } = opts;
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/api/trpc/',
    // The edge has read (and capped) the body already; this is the adapter's own backstop.
    maxBodySize: 8 * 1024 * 1024,
    createContext: ({ req }) => contexts.get(req)!,
    responseMeta({ paths, data, errors }) {
      return { headers: adapterHeaders(paths, data, errors, services.now().getTime()) };
    },
    onError({ error, path }) {
      logApiError(path, error);
    },
  });

  /** Everything else under /api/trpc: tRPC's adapter, given the body read here under the cap and the context built here. */
  async function serveThroughAdapter(
    req: IncomingMessage,
    res: ServerResponse,
    procedure: string,
    batch: boolean,
    actor: Promise<TActor>,
  ): Promise<void> {
    let ctx: TContext;
    let body: string;
    try {
      ctx = await createRequestContext(
        services,
        {
          authorization: header(req, 'authorization'),
          cookieHeader: header(req, 'cookie'),
          ip: clientIp(req, env),
          userAgent: header(req, 'user-agent'),
          secure: isSecure(req, env),
          appendSetCookie: (value) => res.appendHeader('set-cookie', value),
        },
        await actor,
      );
    } catch (error) {
      // The adapter fails each call of a batch whose context cannot be built: one error per call.
      sendTrpcError(req, res, error, procedure, { batch });
      return;
    }
    try {
      body = await readBody(req, adapterBodyCap(procedure.split(','), ctx.actor));
    } catch (error) {
      sendTrpcError(req, res, error, procedure);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') (req as IncomingMessage & { body?: string }).body = body;
    contexts.set(req, ctx);
    for (const [name, value] of Object.entries(OWN_HEADERS)) res.setHeader(name, value);
    trpc(req, res);
  }

  return (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (path === '/api/health') {
      void health(services).then(({ status, body }) =>
        json(res, status, body, status === 503 ? { 'retry-after': '1' } : {}),
      );
      return;
    }
    if (path === '/api/openapi.json') {
      sendOpenApiDocument(res, services.version);
      return;
    }
    if (path === NGINX_AUTH_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      // nginx's auth_request subrequest: headers in, status and headers out (nginx-auth.ts).
      const actor = authenticateIncoming(services, { authorization: header(req, 'authorization'), cookieHeader: null });
      void serveNginxAuth(req, res, services, actor);
      return;
    }
    if (path === '/metrics') {
      void metrics(services).then(
        (text) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', ...OWN_HEADERS });
          res.end(text);
        },
        (error: unknown) => json(res, 503, { error: logFailure('metrics', error) }, { 'retry-after': '1' }),
      );
      return;
    }
    if (path.startsWith('/api/trpc/')) {
      const procedure = path.slice('/api/trpc/'.length);
      const batch = url.includes('batch=');
      const hot = req.method === 'POST' && !batch ? HOT_PROCEDURES.get(procedure) : undefined;
      const refused = checkApiRequest(req, env, hot?.maxBody ?? adapterBodyCap(procedure.split(','), null));
      if (refused) {
        // Refusals of the request as a whole are one error object, batch or not, as tRPC's adapter answers them.
        sendTrpcError(req, res, refused, procedure);
        return;
      }
      const incoming = { authorization: header(req, 'authorization'), cookieHeader: header(req, 'cookie') };
      // Authenticated before the body is read, on both paths: a caller refused by its credential sends nothing we buffer.
      const actor = authenticateIncoming(services, incoming);
      if (hot) {
        void serveHotProcedure(req, res, hot, services, actor);
        return;
      }
      void serveThroughAdapter(req, res, procedure, batch, actor);
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
  await writeFleetMetrics({
    db: services.db,
    now: services.now(),
    offlineAfterMs: services.offlineAfterMs,
    fleet: services.fleet,
    metrics: m,
  });
  await writeCapacityMetrics({
    db: services.db,
    now: services.now(),
    instanceId: services.config.instanceId,
    offlineAfterMs: services.offlineAfterMs,
    m,
  });
  await writeNotificationMetrics({ db: services.db, m });
  return m.toString();
}

async function health(services: TServices): Promise<{ status: number; body: unknown }> {
  try {
    await services.db.$queryRawUnsafe('SELECT 1');
    return { status: 200, body: { status: 'ok', db: services.dbProvider, version: services.version } };
  } catch (error) {
    return {
      status: 503,
      body: {
        status: 'unavailable',
        db: services.dbProvider,
        version: services.version,
        error: logFailure('health check', error),
      },
    };
  }
}

/**
 * Pages learn who is asking from a header this server sets after checking the
 * session itself; whatever a client sent under that name is discarded first.
 */
async function forwardToNext(
  req: IncomingMessage,
  res: ServerResponse,
  opts: { services: TServices; next: TNextHandler },
): Promise<void> {
  delete req.headers[ACTOR_HEADER];
  const path = (req.url ?? '/').split('?')[0]!;
  if (!path.startsWith('/_next/') && !path.startsWith('/favicon')) {
    const cookie = parseCookies(header(req, 'cookie')).get(SESSION_COOKIE) ?? null;
    if (cookie) {
      const actor = await authenticateRequest({
        db: opts.services.db,
        credentials: opts.services.credentials,
        authorization: null,
        sessionCookie: cookie,
        now: opts.services.now(),
      });
      if (actor.kind === 'user') {
        req.headers[ACTOR_HEADER] = encodeURIComponent(
          JSON.stringify({ id: actor.id, name: actor.name, role: actor.role }),
        );
      }
    }
  }
  await opts.next(req, res);
}
