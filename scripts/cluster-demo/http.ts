// Ports and plain HTTP for the demo: what it needs before there is a console to talk tRPC to
// (a free port, /api/health and its headers through nginx). The API itself goes through the typed
// client (check.ts).
import { createServer } from 'node:net';
import { type TChild, running, sleep } from './children';

export function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** The preferred port when free, else one the kernel picks. */
export async function pickPort(preferred: number): Promise<number> {
  if (await portFree(preferred)) return preferred;
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (address && typeof address === 'object' ? res(address.port) : rej(new Error('no port'))));
    });
  });
}

export async function get(url: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  return { status: r.status, headers: r.headers, body: (await r.json().catch(() => null)) as unknown };
}

export async function waitHealthy(entry: TChild, url: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!running(entry))
      throw new Error(`${entry.name} exited before it answered /api/health:\n${entry.lastLines.join('\n')}`);
    try {
      const r = await get(`${url}/api/health`);
      if (r.status === 200) return r.body;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline)
      throw new Error(`${entry.name} did not answer ${url}/api/health within ${timeoutMs / 1000}s`);
    await sleep(300);
  }
}
