/** The guard's signed webhook (Slack-compatible), retried with doubling delays. */
import { createHmac } from 'node:crypto';
import { postJson } from '../notifications/http-post';

export type TWebhookPayload = {
  /** The GuardEvent id: a retry after a lost answer delivers the same id again, so receivers can drop duplicates. */
  id: string | null;
  /** Slack-compatible: incoming webhooks show this. */
  text: string;
  event: string;
  rule: string | null;
  step: number | null;
  tier: string | null;
  dryRun: boolean;
  signal: unknown;
  guardConfigVersion: number;
  at: string;
};

export const SIGNATURE_HEADER = 'x-coolant-signature';
export const TIMESTAMP_HEADER = 'x-coolant-timestamp';

/** HMAC-SHA256 over `${timestamp}.${body}`, hex, as `sha256=<hex>` (the receiver recomputes it with the shared secret). */
export function signWebhook(req: { secret: string; timestamp: string; body: string }): string {
  return `sha256=${createHmac('sha256', req.secret).update(`${req.timestamp}.${req.body}`).digest('hex')}`;
}

/**
 * The headers of a signed webhook POST, stamped now: the signature, its timestamp and the event.
 * The guard's webhook and the notifications' (notifications/webhook-channel.ts) send the same ones.
 */
export function signedWebhookHeaders(req: { secret: string; body: string; event: string }): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    [SIGNATURE_HEADER]: signWebhook({ secret: req.secret, timestamp, body: req.body }),
    [TIMESTAMP_HEADER]: timestamp,
    'x-coolant-event': req.event,
  };
}

/**
 * POSTs the payload, retrying on a network error or a non-2xx answer with
 * doubling delays. Never throws: a dead receiver must not stop the guard.
 * The POST is the notifications' (notifications/http-post.ts): a redirect is
 * not followed (the body is signed for this receiver, not for wherever a 307
 * points), at most 4 KB of an answer is read, and a logged error names no more
 * of the URL than its origin.
 */
export async function sendWebhook(req: {
  hook: { url: string; secret: string };
  payload: TWebhookPayload;
  attempts?: number | undefined;
  baseDelayMs?: number | undefined;
  log?: ((m: string) => void) | undefined;
}): Promise<{ ok: boolean; /** POSTs made. */ attempts: number; status: number | null }> {
  const { hook, payload, ...opts } = req;
  const attempts = opts.attempts ?? 4;
  const body = JSON.stringify(payload);
  let status: number | null = null;
  for (let i = 1; i <= attempts; i++) {
    const r = await postJson({
      url: hook.url,
      body,
      headers: signedWebhookHeaders({ secret: hook.secret, body, event: payload.event }),
      timeoutMs: 5_000,
      fixWith: 'guard.update',
    });
    status = r.status ?? status;
    if (r.ok) return { ok: true, attempts: i, status };
    // A redirect, or a user:password URL (never posted: no status), fails the same way every time.
    if (r.permanent) {
      opts.log?.(`guard webhook failed, not retried: ${r.error}`);
      return { ok: false, attempts: r.status === null ? i - 1 : i, status };
    }
    opts.log?.(`guard webhook attempt ${i} failed: ${r.error}`);
    if (i < attempts) await new Promise((res) => setTimeout(res, (opts.baseDelayMs ?? 500) * 2 ** (i - 1)));
  }
  opts.log?.(`guard webhook gave up after ${attempts} attempts (last status ${status ?? 'none'})`);
  return { ok: false, attempts, status };
}
