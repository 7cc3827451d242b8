/**
 * The simulation's admin calls (tiers, limits, the guard, tokens, capacity.configure): one keep-alive
 * pool to the console on 127.0.0.1, a tRPC call as a plain JSON POST, the answer's data or its
 * error, and the time it took. The gateways' admission calls go through @coolant/gateway instead
 * (gateways.ts), as a real gateway's do. Every call has a deadline (AbortSignal.timeout): a console
 * that stops answering shows as a TIMEOUT error instead of a run that hangs.
 */
import http from 'node:http';

export type TCallResult<T> = {
  status: number;
  data: T | null;
  error: { message: string; code: string } | null;
  ms: number;
};

export class ConsoleClient {
  private readonly agent: http.Agent;
  private readonly target: URL;

  constructor(
    url: string,
    private readonly token: string,
    maxSockets = 32,
    private readonly timeoutMs = 15_000,
  ) {
    this.target = new URL(url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(this.target.hostname))
      throw new Error(`the launch simulation talks to a console on this machine only, not ${url}`);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  call<T>(path: string, input: unknown): Promise<TCallResult<T>> {
    const body = JSON.stringify(input ?? null);
    const t0 = performance.now();
    return new Promise((resolve) => {
      // An abort while the answer's body streams in reaches the response, not always the request:
      // both report here, and a second resolve() is a no-op.
      const fail = (e: Error) => {
        const ms = performance.now() - t0;
        const timedOut = e.name === 'AbortError' || e.name === 'TimeoutError';
        resolve({
          status: 0,
          data: null,
          error: timedOut
            ? { message: `${path}: no answer in ${this.timeoutMs / 1000} s`, code: 'TIMEOUT' }
            : { message: e.message, code: 'NETWORK' },
          ms,
        });
      };
      const req = http.request(
        {
          host: this.target.hostname,
          port: this.target.port,
          path: `/api/trpc/${path}`,
          method: 'POST',
          agent: this.agent,
          signal: AbortSignal.timeout(this.timeoutMs),
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${this.token}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('error', fail);
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const ms = performance.now() - t0;
            let json: { result?: { data: T }; error?: { message: string; data?: { code?: string } } } = {};
            try {
              json = JSON.parse(Buffer.concat(chunks).toString()) as typeof json;
            } catch {
              // A non-JSON answer (a proxy's page): reported by status.
            }
            resolve({
              status: res.statusCode ?? 0,
              data: json.result?.data ?? null,
              error: json.error ? { message: json.error.message, code: json.error.data?.code ?? 'UNKNOWN' } : null,
              ms,
            });
          });
        },
      );
      req.on('error', fail);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
