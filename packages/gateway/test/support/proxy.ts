/**
 * A TCP proxy between the gateway client and the console that can slow the console down (each
 * chunk of its answers is held `delayMs` before it goes on, so the request is served but answered
 * late, as by a console under load) and counts the connections it accepts,
 * so a test can see that an open breaker really keeps the client off the network.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type TDelayProxy = {
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  setDelay(ms: number): void;
  /** Drops the open connections (a fresh state between phases; keep-alive sockets included). */
  dropAll(): void;
  close(): Promise<void>;
};

export async function startDelayProxy(target: { host: string; port: number }): Promise<TDelayProxy> {
  const open = new Set<Socket>();
  let count = 0;
  let delayMs = 0;
  const server: Server = createServer((client) => {
    count += 1;
    const upstream = connect(target.port, target.host);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.on('data', (chunk: Buffer) => {
      const send = () => {
        if (!client.destroyed) client.write(chunk);
      };
      if (delayMs > 0) setTimeout(send, delayMs);
      else send();
    });
    client.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    setDelay: (ms) => {
      delayMs = ms;
    },
    dropAll: () => {
      for (const s of open) s.destroy();
      open.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        open.clear();
        server.close(() => resolve());
      }),
  };
}
