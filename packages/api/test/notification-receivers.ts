/**
 * Real HTTP receivers on 127.0.0.1 for the notification tests: a webhook (or Alertmanager's v2
 * alerts endpoint, the same server) that records what it was sent and answers as the test says:
 * a status, after a delay, never, a redirect, or a body that never ends. Also the deliverer the
 * tests drive by hand and the few fleet alert rows they need.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TDb } from '@coolant/db';
import { signWebhook } from '../src/domain/guard/webhook';
import { NotificationService, type TNotificationOptions } from '../src/domain/notifications/notification-service';

export const SECRET = 'receiver-secret-0123456789';

export type TReceived = { at: number; path: string; headers: IncomingHttpHeaders; body: string; json: unknown };

export type TAnswer =
  { status: number; body?: string; delayMs?: number } | { hang: true } | { redirect: string } | { endless: number };

export type TReceiver = {
  url: string;
  origin: string;
  got: TReceived[];
  /** How the next requests are answered (200 "ok" unless changed). */
  answer: TAnswer;
  /** Called with each request before it is answered (the test moves its clock, steals a lease…). */
  onRequest: ((r: TReceived) => void | Promise<void>) | null;
  /** Webhook payloads received, in order. */
  events(): Record<string, unknown>[];
  /** Alertmanager: every alert of every POST, in order. */
  alerts(): { labels: Record<string, string>; startsAt: string; endsAt: string }[];
  close(): Promise<void>;
};

export async function receiver(path = '/hook'): Promise<TReceiver> {
  const sockets = new Set<Socket>();
  const open = new Set<ServerResponse>();
  const r: TReceiver = {
    url: '',
    origin: '',
    got: [],
    answer: { status: 200 },
    onRequest: null,
    events: () => r.got.map((g) => g.json as Record<string, unknown>),
    alerts: () => r.got.flatMap((g) => g.json as ReturnType<TReceiver['alerts']>),
    close: async () => {
      for (const res of open) res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      void (async () => {
        const got: TReceived = {
          at: Date.now(),
          path: req.url ?? '',
          headers: req.headers,
          body,
          json: JSON.parse(body),
        };
        await r.onRequest?.(got);
        const a = r.answer;
        if ('hang' in a) {
          open.add(res);
          return;
        }
        if ('redirect' in a) return void res.writeHead(307, { location: a.redirect }).end();
        if ('endless' in a) {
          res.writeHead(a.endless, { 'content-type': 'text/plain' });
          const timer = setInterval(() => res.write('x'.repeat(16_384)), 5);
          res.on('close', () => clearInterval(timer));
          open.add(res);
          return;
        }
        if (a.delayMs) await new Promise((ok) => setTimeout(ok, a.delayMs));
        if (a.status >= 200 && a.status < 300) r.got.push(got);
        res.writeHead(a.status, { 'content-type': 'text/plain' }).end(a.body ?? (a.status < 300 ? 'ok' : 'no'));
      })();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  r.origin = `http://127.0.0.1:${port}`;
  r.url = `${r.origin}${path}`;
  return r;
}

export function verified(r: TReceived): boolean {
  const ts = String(r.headers['x-coolant-timestamp']);
  return r.headers['x-coolant-signature'] === signWebhook({ secret: SECRET, timestamp: ts, body: r.body });
}

/** A deliverer on the test's clock (backoff is passed by moving it, not by sleeping). */
export function deliverer(req: {
  db: TDb;
  instanceId: string;
  now: () => Date;
  options?: TNotificationOptions;
}): NotificationService {
  return new NotificationService({
    db: req.db,
    instanceId: req.instanceId,
    now: req.now,
    options: { backoffBaseMs: 1_000, backoffMaxMs: 8_000, timeoutMs: 2_000, ...req.options },
  });
}

let alertSeq = 0;

/** A fleet alert row as fleet/alerts.ts writes it (firing now, or fired and resolved). */
export async function fleetAlert(req: {
  db: TDb;
  nodeId: string;
  gpuIndex: number;
  firingAt: Date;
  resolvedAt?: Date;
}): Promise<string> {
  const id = `t-alert-${process.pid}-${++alertSeq}`;
  const key = `gpu_hot:${req.nodeId}:${req.gpuIndex}:${id}`;
  await req.db.alert.create({
    data: {
      id,
      kind: 'gpu_hot',
      nodeId: req.nodeId,
      gpuIndex: req.gpuIndex,
      state: req.resolvedAt ? 'resolved' : 'firing',
      message: `GPU ${req.gpuIndex} at 91 °C`,
      startedAt: req.firingAt,
      firingAt: req.firingAt,
      resolvedAt: req.resolvedAt ?? null,
      openKey: req.resolvedAt ? null : key,
    },
  });
  return id;
}

export async function resolveAlert(req: { db: TDb; id: string; at: Date }): Promise<void> {
  await req.db.alert.update({ where: { id: req.id }, data: { state: 'resolved', resolvedAt: req.at, openKey: null } });
}

/** Waits (polling, bounded) until `fn` is true; throws with `what` otherwise. */
export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
}

/**
 * Between two tests: the deliverers a test started stopped, both channels off, the fleet's alerts,
 * the outbox, the channels' state and the lease gone, and the receivers answering 200 again.
 */
export async function resetNotifications(req: {
  db: TDb;
  admin: { notifications: { configure(input: { alertmanager: null; webhook: null }): Promise<unknown> } };
  running: { stop(): Promise<void> }[];
  receivers: TReceiver[];
}): Promise<void> {
  for (const d of req.running.splice(0)) await d.stop();
  await req.admin.notifications.configure({ alertmanager: null, webhook: null });
  await req.db.alert.deleteMany({});
  await req.db.notificationEvent.deleteMany({});
  await req.db.notificationChannel.deleteMany({});
  await req.db.notificationLease.deleteMany({});
  for (const r of req.receivers) {
    r.got.length = 0;
    r.answer = { status: 200 };
    r.onRequest = null;
  }
}
