import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ZWindow } from './windows';

/**
 * A ticket is self-contained and signed: it names what a consume took, so a
 * refund can give exactly that back without a row per consume. Only refunds
 * are recorded (to refund once).
 */
const ZTicketPayload = z.object({
  v: z.literal(1),
  n: z.string(),
  t: z.string(),
  s: z.string(),
  c: z.number().int().positive(),
  /** The counters taken: [window, startMin] the subject's, [window, startMin, 'tier'] the tier's. */
  w: z.array(z.union([z.tuple([ZWindow, z.number().int()]), z.tuple([ZWindow, z.number().int(), z.literal('tier')])])),
  /** Expiry (ms since epoch): the end of the longest window; after it nothing is left to refund. */
  e: z.number().int(),
});
export type TTicketPayload = z.infer<typeof ZTicketPayload>;

// A random per-process prefix plus a counter: unique across instances and restarts, without paying for 12 random bytes per decision.
const NONCE_PREFIX = randomBytes(9).toString('base64url');
let nonceCounter = 0;

export function newNonce(): string {
  return `${NONCE_PREFIX}${(nonceCounter++).toString(36)}`;
}

function sign(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url').slice(0, 32);
}

export function encodeTicket(req: { key: Buffer; payload: TTicketPayload }): string {
  const { key, payload } = req;
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `t1.${body}.${sign(key, body)}`;
}

export function decodeTicket(req: { key: Buffer; ticket: string }): TTicketPayload | null {
  const { key, ticket } = req;
  const parts = ticket.split('.');
  if (parts.length !== 3 || parts[0] !== 't1') return null;
  const [, body, mac] = parts as [string, string, string];
  const expected = Buffer.from(sign(key, body));
  const actual = Buffer.from(mac);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  try {
    const parsed = ZTicketPayload.safeParse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
