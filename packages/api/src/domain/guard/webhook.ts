/** The guard's signed webhook (Slack-compatible), retried with doubling delays. */
import { createHmac } from 'node:crypto';

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
 */
export async function sendWebhook(req: {
  hook: { url: string; secret: string };
  payload: TWebhookPayload;
  attempts?: number | undefined;
  baseDelayMs?: number | undefined;
  log?: ((m: string) => void) | undefined;
}): Promise<{ ok: boolean; attempts: number; status: number | null }> {
  const { hook, payload, ...opts } = req;
  const attempts = opts.attempts ?? 4;
  const body = JSON.stringify(payload);
  let status: number | null = null;
  for (let i = 1; i <= attempts; i++) {
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signedWebhookHeaders({ secret: hook.secret, body, event: payload.event }),
        },
        body,
        signal: AbortSignal.timeout(5_000),
      });
      status = res.status;
      await res.body?.cancel().catch(() => {});
      if (res.ok) return { ok: true, attempts: i, status };
    } catch (error) {
      opts.log?.(`guard webhook attempt ${i} failed: ${(error as Error).message}`);
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, (opts.baseDelayMs ?? 500) * 2 ** (i - 1)));
  }
  opts.log?.(`guard webhook gave up after ${attempts} attempts (last status ${status ?? 'none'})`);
  return { ok: false, attempts, status };
}
