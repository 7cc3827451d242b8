/**
 * One POST of a notification, answered as a value (never thrown): what the delivery state records.
 * Redirects are not followed (a 307 would send the body and its signature to another host), at
 * most BODY_LIMIT bytes of an answer are read, and an error never names more of a URL than its
 * origin (redact-url.ts): errors are stored in lastError and audited with sendTest's results.
 * A signal cancels the POST when the console stops; that is no failure of the receiver.
 */
import { hasUserInfo, redactUrl, scrubUrls } from './redact-url';

export type TPostResult = {
  ok: boolean;
  status: number | null;
  error: string | null;
  /** Cancelled by the caller's signal (the console is stopping): not an answer, record nothing. */
  cancelled?: true;
  /**
   * The same POST would fail the same way again until the URL is changed (a redirect, user:password@):
   * a caller that retries on its own (the guard's webhook) stops; a queue keeps it until reconfigured.
   */
  permanent?: true;
};

const BODY_LIMIT = 4096;

function describeFailure(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  const cause = e.cause?.message ?? e.cause?.code;
  return cause ? `${e.message}: ${cause}` : e.message;
}

/** At most `limit` bytes of the body, then the rest is abandoned (a receiver may answer forever). */
async function readSome(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function resolve(location: string, base: string): string {
  try {
    return new URL(location, base).href;
  } catch {
    return location;
  }
}

export async function postJson(req: {
  url: string;
  body: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** The procedure that sets this URL, named in the errors that only a new URL fixes. */
  fixWith?: string;
}): Promise<TPostResult> {
  const fixWith = req.fixWith ?? 'notifications.configure';
  // Stored before fixWith refused them: fetch would quote the password in its error.
  if (hasUserInfo(req.url))
    return {
      ok: false,
      status: null,
      error: `the URL carries user:password@; set it again without (${fixWith})`,
      permanent: true,
    };
  const signal = req.signal
    ? AbortSignal.any([req.signal, AbortSignal.timeout(req.timeoutMs)])
    : AbortSignal.timeout(req.timeoutMs);
  try {
    const res = await fetch(req.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...req.headers },
      body: req.body,
      signal,
      redirect: 'manual',
    });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => {});
      const location = res.headers.get('location');
      const to = location ? redactUrl(resolve(location, req.url)) : 'no Location';
      return {
        ok: false,
        status: res.status,
        error: `HTTP ${res.status}: a redirect to ${to}, not followed (the body is signed for this receiver); set the final URL (${fixWith})`,
        permanent: true,
      };
    }
    if (res.ok) {
      await res.body?.cancel().catch(() => {});
      return { ok: true, status: res.status, error: null };
    }
    const said = scrubUrls((await readSome(res, BODY_LIMIT).catch(() => '')).trim().replace(/\s+/g, ' '), req.url);
    return { ok: false, status: res.status, error: `HTTP ${res.status}${said ? `: ${said.slice(0, 200)}` : ''}` };
  } catch (error) {
    if (req.signal?.aborted)
      return { ok: false, status: null, error: 'cancelled: the console is stopping', cancelled: true };
    return { ok: false, status: null, error: scrubUrls(describeFailure(error), req.url) };
  }
}
