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

/** Builds the tRPC context of one HTTP request. */
export async function createRequestContext(services: TServices, req: TIncomingRequest): Promise<TContext> {
  const actor: TActor = await authenticateRequest({
    db: services.db,
    authorization: req.authorization,
    sessionCookie: parseCookies(req.cookieHeader).get(SESSION_COOKIE) ?? null,
    now: services.now(),
  });
  return { ...services, actor, request: { ip: req.ip, userAgent: req.userAgent }, cookies: cookieJar(req) };
}
