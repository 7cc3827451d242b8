import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the shared PostgreSQL that a test can cut and
 * restore: the console loses its database (connections dropped, new ones
 * refused) without stopping the cluster other tests use.
 */
export type TTcpProxy = {
  port: number;
  /** Drops every open connection and refuses new ones (the port stops listening). */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
};

export async function startTcpProxy(target: { host: string; port: number }): Promise<TTcpProxy> {
  const open = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
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
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      for (const sock of open) sock.destroy();
      open.clear();
      if (s) s.close(() => resolve());
      else resolve();
    });

  await listen();
  return { port, cut: stop, restore: listen, close: stop };
}
