// What the notification deliverer costs while nothing happens: statements and milliseconds per idle
// tick (one reconcile + one pass of each channel, nothing new to deliver, no re-send due), with
// --firing fleet alerts firing (already delivered) and --resolved old resolved alerts whose
// transitions sit delivered in the outbox; then one Alertmanager re-send (POSTs, bytes).
// Receivers are node:http servers on 127.0.0.1 answering 200. Statements are counted at the
// driver (better-sqlite3 prepare, pg Client.query).
//   npx tsx bench/notifications-tick.ts [--firing 2000] [--resolved 30000] [--ticks 40] [--db sqlite,postgresql]
// Seen on 2 shared cores (load 4.4–7.9), 30,000 resolved alerts in the outbox's history:
//   2,000 firing: before 12 statements, 49.7 ms (SQLite) / 88.2 ms (PostgreSQL) per idle tick; after 8, 2.95 / 8.8 ms
//   8,000 firing: before 12 statements, 278 ms / 205 ms; after 8, 2.3 / 5.1 ms; a re-send 16 POSTs of <= 500 (was one of 8,000, 2.5 MB)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createTestDb } from '@coolant/db/testing';
import type { TDb, TDbProvider } from '@coolant/db';
import { configureNotifications } from '../packages/api/src/domain/notifications/configure-notifications';
import { NotificationService } from '../packages/api/src/domain/notifications/notification-service';

const { values } = parseArgs({
  options: {
    firing: { type: 'string', default: '2000' },
    resolved: { type: 'string', default: '30000' },
    ticks: { type: 'string', default: '40' },
    db: { type: 'string', default: 'sqlite,postgresql' },
  },
});
const FIRING = Number(values.firing);
const RESOLVED = Number(values.resolved);
const TICKS = Number(values.ticks);
const GPUS = 8;

let statements = 0;
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function (this: Database.Database, sql: string) {
  statements++;
  return prepare.call(this, sql);
} as typeof prepare;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: Parameters<typeof query>) {
  statements++;
  return query.apply(this, args);
} as typeof query;

type TReceiver = { url: string; posts: number; bytes: number; maxAlerts: number; close(): Promise<void> };
async function receiver(): Promise<TReceiver> {
  const r = { posts: 0, bytes: 0, maxAlerts: 0 };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      r.posts++;
      r.bytes += body.length;
      const parsed: unknown = JSON.parse(body);
      if (Array.isArray(parsed)) r.maxAlerts = Math.max(r.maxAlerts, parsed.length);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  });
}

async function seed(db: TDb, now: number): Promise<void> {
  const nodes = Math.ceil(FIRING / GPUS);
  for (let n = 0; n < nodes; n++) {
    await db.node.create({
      data: {
        id: `bench-node-${n}`,
        hostname: `gpu-${n}`,
        tokenHash: `bench-${n}`,
        gpus: {
          create: Array.from({ length: GPUS }, (_, g) => ({
            gpuIndex: g,
            name: 'NVIDIA H200',
            sampledAt: new Date(now),
          })),
        },
      },
    });
  }
  const rows = [];
  for (let i = 0; i < FIRING; i++) {
    const nodeId = `bench-node-${Math.floor(i / GPUS)}`;
    rows.push({
      id: `firing-${i}`,
      kind: 'gpu_hot',
      nodeId,
      gpuIndex: i % GPUS,
      state: 'firing',
      message: `GPU ${i % GPUS} at 91 °C`,
      startedAt: new Date(now - 3_600_000),
      firingAt: new Date(now - 3_600_000),
      openKey: `gpu_hot:${nodeId}:${i % GPUS}`,
    });
  }
  for (let i = 0; i < RESOLVED; i++) {
    // Spread over the last week; a few resolved within the catch-up window.
    const at = now - 60_000 - Math.floor((i / RESOLVED) * 7 * 86_400_000);
    rows.push({
      id: `resolved-${i}`,
      kind: 'gpu_hot',
      nodeId: `bench-node-${i % nodes}`,
      gpuIndex: i % GPUS,
      state: 'resolved',
      message: 'GPU at 91 °C',
      startedAt: new Date(at - 600_000),
      firingAt: new Date(at - 600_000),
      resolvedAt: new Date(at),
    });
  }
  for (let i = 0; i < rows.length; i += 1000) await db.alert.createMany({ data: rows.slice(i, i + 1000) });
  // The resolved alerts' transitions, delivered long ago (the outbox's history).
  const events = [];
  for (let i = 0; i < RESOLVED; i++) {
    for (const status of ['firing', 'resolved']) {
      events.push({
        eventId: `alert:resolved-${i}:${status}`,
        alertKey: `alert:resolved-${i}`,
        status,
        open: false,
        alertname: 'CoolantGpuHot',
        severity: 'critical',
        labels: '{}',
        summary: 's',
        description: 'd',
        startsAt: new Date(now - 86_400_000),
        endsAt: status === 'resolved' ? new Date(now - 86_000_000) : null,
        createdAt: new Date(now - 86_400_000),
        webhookAt: new Date(now - 86_400_000),
        alertmanagerAt: new Date(now - 86_400_000),
      });
    }
  }
  for (let i = 0; i < events.length; i += 1000)
    await db.notificationEvent.createMany({ data: events.slice(i, i + 1000) });
}

type TRow = Record<string, string | number>;
const table: TRow[] = [];

async function run(provider: TDbProvider): Promise<void> {
  const t = await createTestDb(provider);
  const clock = { now: Date.now() };
  const now = () => new Date(clock.now);
  const hook = await receiver();
  const am = await receiver();
  try {
    await seed(t.db, clock.now);
    await configureNotifications({
      db: t.db,
      actor: { kind: 'token', id: 'bench', name: 'bench', role: 'admin' },
      now: now(),
      alertmanager: { url: am.url },
      webhook: { url: `${hook.url}/hook`, secret: 'bench-secret-0123456789' },
    });
    const d = new NotificationService({ db: t.db, instanceId: 'bench', now, options: { timeoutMs: 10_000 } });
    // The first ticks append and deliver the firing alerts; then everything is delivered.
    for (let i = 0; i < 200; i++) {
      await d.tick();
      const left = await t.db.notificationEvent.count({
        where: { OR: [{ webhookAt: null }, { alertmanagerAt: null }] },
      });
      if (left === 0) break;
    }
    const events = await t.db.notificationEvent.count();
    await d.tick();
    clock.now += 1_000;
    await d.tick();
    const before = { s: statements, am: am.posts, hook: hook.posts };
    const t0 = performance.now();
    for (let i = 0; i < TICKS; i++) {
      clock.now += 100;
      await d.tick();
    }
    const ms = (performance.now() - t0) / TICKS;
    const idle = {
      db: provider,
      firing: FIRING,
      outbox: events,
      'stmts/tick': ((statements - before.s) / TICKS).toFixed(1),
      'ms/tick': ms.toFixed(2),
      'posts (idle)': am.posts - before.am + hook.posts - before.hook,
    };
    // One Alertmanager re-send: everything open, endsAt moved forward.
    clock.now += 31_000;
    const r0 = { posts: am.posts, bytes: am.bytes };
    am.maxAlerts = 0;
    const s0 = performance.now();
    await d.tick();
    table.push({
      ...idle,
      'resend posts': am.posts - r0.posts,
      'resend KB': Math.round((am.bytes - r0.bytes) / 1024),
      'max alerts/post': am.maxAlerts,
      'resend ms': (performance.now() - s0).toFixed(0),
    });
    await d.stop();
  } finally {
    await hook.close();
    await am.close();
    await t.cleanup();
  }
}

for (const provider of values.db.split(',') as TDbProvider[]) await run(provider);
console.table(table);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
