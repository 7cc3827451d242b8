/**
 * The simulated gateways' HTTP: one keep-alive pool to the console on 127.0.0.1, a tRPC call as a
 * plain JSON POST (as a real gateway sends it), the answer's data or its error, and the time it took.
 * node:http rather than fetch: at several hundred decisions a second on two cores, fetch's own
 * overhead would be measured instead of the console's.
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
      const req = http.request(
        {
          host: this.target.hostname,
          port: this.target.port,
          path: `/api/trpc/${path}`,
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${this.token}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
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
      req.on('error', (e) =>
        resolve({ status: 0, data: null, error: { message: e.message, code: 'NETWORK' }, ms: performance.now() - t0 }),
      );
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
