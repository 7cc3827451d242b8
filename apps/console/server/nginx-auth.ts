import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  authorize,
  errorAnswer,
  HOT_PROCEDURES,
  nowMs,
  type TActor,
  type TAnyHotProcedure,
  type TConsumeResponse,
  type TServices,
} from '@coolant/api';
import { TRPCError } from '@trpc/server';
import type { ZodError } from 'zod';
import { header, OWN_HEADERS } from './api-edge';

/**
 * GET /api/auth/nginx: admission.consume for nginx's `auth_request`, which
 * can send no body and reads only the status and headers of the answer. The
 * call's input comes from headers nginx sets (X-Coolant-Tier, -Subject,
 * -Request-Id, -Cost, -Lease-Ttl) and goes through the hot procedure's own
 * access check, zod schema and handler: there is no second decision path.
 *
 * nginx turns every status but 2xx/401/403 into a 500, so the answer is
 * 204 (admitted), 403 (refused, or a request Coolant cannot take, with
 * X-Coolant-Reason and X-Coolant-Message), 401 (no usable gateway token: the
 * nginx config is wrong, not the client) or 503 when Coolant cannot decide
 * (nginx's 500 then reaches the config's fail-mode location).
 * deploy/nginx/generator.conf is the config that reads these.
 */

export const NGINX_AUTH_PATH = '/api/auth/nginx';

const consume: TAnyHotProcedure = HOT_PROCEDURES.get('admission.consume')!;

/** Input field → the header that carries it, so a schema error names what nginx must set. */
const FIELD_HEADERS: Record<string, string> = {
  tier: 'X-Coolant-Tier',
  subject: 'X-Coolant-Subject',
  requestId: 'X-Coolant-Request-Id',
  cost: 'X-Coolant-Cost',
  lease: 'X-Coolant-Lease-Ttl',
};

/** Header text: printable ASCII as is, anything else (and `%`) percent-encoded UTF-8, so decodeURIComponent restores it. */
export function headerText(s: string): string {
  return s.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c));
}

function badHeaders(message: string): TRPCError {
  return new TRPCError({ code: 'BAD_REQUEST', message });
}

function wholeNumber(req: IncomingMessage, name: string): number | undefined {
  const v = header(req, name.toLowerCase());
  if (v === null || v === '') return undefined;
  if (!/^\d{1,9}$/.test(v.trim())) throw badHeaders(`${name} must be a whole number, got '${headerText(v)}'`);
  return Number(v.trim());
}

/** The consume input nginx's headers spell; absent (or empty, which nginx does not send) headers are left out. */
export function consumeInputFromHeaders(req: IncomingMessage): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const tier = header(req, 'x-coolant-tier');
  const subject = header(req, 'x-coolant-subject');
  const requestId = header(req, 'x-coolant-request-id');
  if (tier) input.tier = tier;
  if (subject) input.subject = subject;
  if (requestId) input.requestId = requestId;
  const cost = wholeNumber(req, 'X-Coolant-Cost');
  if (cost !== undefined) input.cost = cost;
  const ttl = wholeNumber(req, 'X-Coolant-Lease-Ttl');
  if (ttl !== undefined) input.lease = { ttlSeconds: ttl };
  return input;
}

function describeHeaders(error: ZodError, input: Record<string, unknown>): string {
  return error.issues
    .map((i) => {
      const field = i.path[0];
      const name = typeof field === 'string' ? (FIELD_HEADERS[field] ?? field) : 'headers';
      if (typeof field === 'string' && i.path.length === 1 && !(field in input)) return `${name} is required`;
      return `${name}: ${i.message}`;
    })
    .join('; ');
}

function answer(res: ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, { ...OWN_HEADERS, 'content-length': 0, ...headers });
  res.end();
}

export async function serveNginxAuth(
  req: IncomingMessage,
  res: ServerResponse,
  services: TServices,
  actor: Promise<TActor>,
): Promise<void> {
  try {
    const allowed = authorize(consume.access, await actor);
    const input = consumeInputFromHeaders(req);
    const parsed = consume.input.safeParse(input);
    if (!parsed.success) throw badHeaders(describeHeaders(parsed.error, input));
    const data = (await consume.handler(parsed.data, allowed, services)) as TConsumeResponse;
    const headers: Record<string, string> = { ...(consume.headers?.(data, nowMs()) ?? {}) };
    headers['X-Coolant-Reason'] = data.reason;
    if (data.allowed) {
      if (data.ticket) headers['X-Coolant-Ticket'] = data.ticket;
      if (data.lease) {
        headers['X-Coolant-Lease'] = data.lease.id;
        headers['X-Coolant-Lease-Expires'] = data.lease.expiresAt;
      }
      answer(res, 204, headers);
      return;
    }
    const message = data.pauseReason ?? data.message;
    if (message) headers['X-Coolant-Message'] = headerText(message);
    answer(res, 403, headers);
  } catch (cause) {
    const a = errorAnswer(cause, { path: consume.path });
    const message = (a.shape as { message?: string }).message ?? a.error.message;
    const headers: Record<string, string> = {
      ...a.headers,
      'X-Coolant-Reason': a.error.code.toLowerCase(),
      'X-Coolant-Message': headerText(message),
    };
    if (a.error.code === 'UNAUTHORIZED' || a.error.code === 'FORBIDDEN') {
      // 401 passes to the client as it is: a gateway token problem is the operator's to fix, never a refusal.
      answer(res, 401, { ...headers, 'WWW-Authenticate': 'Bearer realm="coolant"' });
      return;
    }
    // Coolant cannot decide (database down, a bug): not 2xx/401/403, so nginx's fail-mode location answers.
    if (a.status >= 500) {
      answer(res, 503, { 'retry-after': '1', ...headers });
      return;
    }
    answer(res, 403, headers);
  }
}
