/** Turns one HTTP request into a tRPC context: cookies, who is calling, the request's address. */
import type { TActor, TContext, TCookieJar, TServices } from './context';
import { SESSION_COOKIE } from './context';
import { authenticateRequest } from './domain/auth/authenticate-request';

export type TIncomingRequest = {
  authorization: string | null;
  cookieHeader: string | null;
  ip: string | null;
  userAgent: string | null;
  /** The browser reached us over https (directly or through a trusted proxy). */
  secure: boolean;
  /** Appends one Set-Cookie header to the response. */
  appendSetCookie(value: string): void;
};

export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!out.has(name)) {
      try {
        out.set(name, decodeURIComponent(value));
      } catch {
        out.set(name, value);
      }
    }
  }
  return out;
}

export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${encodeURIComponent(value)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${Math.max(0, maxAgeSeconds)}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

function cookieJar(req: TIncomingRequest): TCookieJar {
  return {
    setSession: (value, maxAge) => req.appendSetCookie(sessionCookie(value, maxAge, req.secure)),
    clearSession: () => req.appendSetCookie(sessionCookie('', 0, req.secure)),
  };
}

/** Who sent this request (cached per credential for a few seconds, see authenticate-request.ts). */
export function authenticateIncoming(
  services: TServices,
  req: Pick<TIncomingRequest, 'authorization' | 'cookieHeader'>,
): Promise<TActor> {
  return authenticateRequest({
    db: services.db,
    credentials: services.credentials,
    authorization: req.authorization,
    sessionCookie:
      req.authorization || !req.cookieHeader ? null : (parseCookies(req.cookieHeader).get(SESSION_COOKIE) ?? null),
    now: services.now(),
  });
}

/** Builds the tRPC context of one HTTP request; `actor` when the edge has authenticated it already. */
export async function createRequestContext(
  services: TServices,
  req: TIncomingRequest,
  actor?: TActor,
): Promise<TContext> {
  return {
    ...services,
    actor: actor ?? (await authenticateIncoming(services, req)),
    request: { ip: req.ip, userAgent: req.userAgent },
    cookies: cookieJar(req),
  };
}
