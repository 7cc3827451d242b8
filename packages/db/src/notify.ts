import pg from 'pg';
import type { TDbConfig } from './config';

export type TNotifier = {
  /** Calls `onMessage` for every NOTIFY on `channel`; `onReconnect` after a lost connection came back (re-read state then). */
  listen(channel: string, onMessage: (payload: string) => void, onReconnect?: () => void): Promise<void>;
  close(): Promise<void>;
};

/**
 * PostgreSQL LISTEN on a dedicated connection (a pooled one would drop the
 * subscription), reconnecting with backoff. SQLite has no cross-process
 * notifications: a single console process owns an SQLite database.
 */
export function createNotifier(config: TDbConfig, log: (msg: string) => void = () => {}): TNotifier | null {
  if (config.provider !== 'postgresql') return null;
  const subscriptions = new Map<string, { onMessage: (p: string) => void; onReconnect?: () => void }>();
  let client: pg.Client | null = null;
  let closed = false;
  let backoff = 250;

  async function connect(isReconnect: boolean): Promise<void> {
    const c = new pg.Client({ connectionString: config.url });
    c.on('notification', (msg) => subscriptions.get(msg.channel)?.onMessage(msg.payload ?? ''));
    c.on('error', (err) => {
      log(`LISTEN connection lost: ${err.message}`);
      void c.end().catch(() => {});
      if (client === c) client = null;
      scheduleReconnect();
    });
    await c.connect();
    for (const channel of subscriptions.keys()) await c.query(`LISTEN "${channel}"`);
    client = c;
    backoff = 250;
    if (isReconnect) for (const s of subscriptions.values()) s.onReconnect?.();
  }

  function scheduleReconnect(): void {
    if (closed) return;
    const delay = backoff;
    backoff = Math.min(backoff * 2, 5_000);
    setTimeout(() => {
      if (closed || client) return;
      connect(true).catch((e: Error) => {
        log(`LISTEN reconnect failed: ${e.message}`);
        scheduleReconnect();
      });
    }, delay).unref();
  }

  return {
    async listen(channel, onMessage, onReconnect) {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
      subscriptions.set(channel, { onMessage, ...(onReconnect ? { onReconnect } : {}) });
      if (client) await client.query(`LISTEN "${channel}"`);
      else await connect(false);
    },
    async close() {
      closed = true;
      await client?.end().catch(() => {});
      client = null;
    },
  };
}
