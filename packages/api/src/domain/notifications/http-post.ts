/** One POST of a notification, answered as a value (never thrown): what the delivery state records. */
export type TPostResult = { ok: boolean; status: number | null; error: string | null };

function describeFailure(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  const cause = e.cause?.message ?? e.cause?.code;
  return cause ? `${e.message}: ${cause}` : e.message;
}

export async function postJson(req: {
  url: string;
  body: string;
  headers?: Record<string, string>;
  timeoutMs: number;
}): Promise<TPostResult> {
  try {
    const res = await fetch(req.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...req.headers },
      body: req.body,
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    const text = await res.text().catch(() => '');
    if (res.ok) return { ok: true, status: res.status, error: null };
    const said = text.trim().replace(/\s+/g, ' ').slice(0, 200);
    return { ok: false, status: res.status, error: `HTTP ${res.status}${said ? `: ${said}` : ''}` };
  } catch (error) {
    return { ok: false, status: null, error: describeFailure(error) };
  }
}
