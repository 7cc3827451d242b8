/**
 * Alertmanager's delivery pass, POSTs of at most CHUNK alerts each, two kinds:
 * - the pending transitions in seq order: resolutions with endsAt when they resolved, firings still
 *   open with endsAt holdMs ahead (a firing that resolved since is covered by its resolution);
 * - the re-send, every resendMs and at once after the address changed (and after a start): every
 *   open alert with endsAt holdMs ahead, so none expires there, after the pending resolutions; it
 *   delivers everything pending that it covered. Its clock is its own: pending POSTs never postpone it.
 * Resolutions go first, so an alert that resolved and fired again under the same labels ends firing.
 * Alertmanager answers 400 for a batch with an invalid alert and stores the valid ones: such a
 * batch is recorded with its error (lastError, the failed counter) and not retried.
 */
import type { Prisma, TDb } from '@coolant/db';
import { postAlerts, postableAlert, type TPostableAlert } from './alertmanager';
import {
  due,
  loadChannel,
  recordAttempt,
  type TChannelRow,
  type TDeliveryOptions,
  type TPassControl,
} from './deliver-channels';
import { pendingWhere } from './get-notifications';
import type { TPostResult } from './http-post';

/** Alerts in one POST at most (an 8,000-alert re-send is 16 POSTs of ~150 KB, not one of 2.4 MB). */
export const ALERTMANAGER_CHUNK = 500;

/** When the last complete re-send went out, for which generation of the channel (this instance's memory). */
export type TResendMark = { generation: number; at: number };

const amEventSelect = {
  seq: true,
  status: true,
  open: true,
  labels: true,
  summary: true,
  description: true,
  nodeId: true,
  startsAt: true,
  endsAt: true,
} satisfies Prisma.NotificationEventSelect;

type TPass = {
  db: TDb;
  url: string;
  now: () => Date;
  opts: TDeliveryOptions;
  control: TPassControl;
  row: TChannelRow;
  alerts: number;
  /** A 400 answer of this pass (the batch was taken, some alerts refused). */
  refused: TPostResult | null;
};

/** One POST; 'stopped' when the lease is gone or the console stops (nothing to record). */
async function post(p: TPass, alerts: TPostableAlert[]): Promise<TPostResult | 'stopped'> {
  if (alerts.length === 0) return { ok: true, status: null, error: null };
  if (p.control.signal.aborted || !(await p.control.confirm())) return 'stopped';
  const r = await postAlerts({ url: p.url, alerts, timeoutMs: p.opts.timeoutMs, signal: p.control.signal });
  if (r.cancelled) return 'stopped';
  p.alerts += alerts.length;
  if (r.status === 400) {
    p.refused = {
      ...r,
      error: `${r.error}; Alertmanager stored the batch's valid alerts, the refused ones are not retried`,
    };
    return { ok: true, status: 400, error: null };
  }
  return r;
}

/** Marks the pending events up to `toSeq` delivered (the ones a POST covered); how many. */
async function markDelivered(p: TPass, toSeq: number): Promise<number> {
  const r = await p.db.notificationEvent.updateMany({
    where: { AND: [pendingWhere({ channel: 'alertmanager', fromSeq: p.row.fromSeq }), { seq: { lte: toSeq } }] },
    data: { alertmanagerAt: p.now() },
  });
  return r.count;
}

async function finish(p: TPass, last: TPostResult, delivered: number): Promise<void> {
  const result = last.ok && p.refused ? p.refused : last;
  await recordAttempt({
    db: p.db,
    row: p.row,
    now: p.now(),
    result,
    failures: delivered > 0 ? 0 : p.row.consecutiveFailures,
    delivered,
    accepted: last.ok,
    opts: p.opts,
  });
}

async function sendPending(p: TPass): Promise<void> {
  const started = Date.now();
  let delivered = 0;
  let last: TPostResult | null = null;
  while (Date.now() - started < p.control.budgetMs) {
    const chunk = await p.db.notificationEvent.findMany({
      where: pendingWhere({ channel: 'alertmanager', fromSeq: p.row.fromSeq }),
      orderBy: { seq: 'asc' },
      take: ALERTMANAGER_CHUNK,
      select: amEventSelect,
    });
    if (chunk.length === 0) break;
    const now = p.now();
    const hold = new Date(now.getTime() + p.opts.holdMs);
    const alerts = [
      ...chunk
        .filter((e) => e.status === 'resolved')
        .map((e) => postableAlert({ event: e, endsAt: e.endsAt ?? now, publicUrl: p.opts.publicUrl })),
      ...chunk
        .filter((e) => e.status === 'firing' && e.open)
        .map((e) => postableAlert({ event: e, endsAt: hold, publicUrl: p.opts.publicUrl })),
    ];
    const r = await post(p, alerts);
    if (r === 'stopped') break;
    last = r;
    if (!r.ok) break;
    delivered += await markDelivered(p, chunk[chunk.length - 1]!.seq);
    if (chunk.length < ALERTMANAGER_CHUNK) break;
  }
  if (last) await finish(p, last, delivered);
}

/** Every open alert (after the pending resolutions); the re-send mark when it all went out. */
async function resend(p: TPass): Promise<TResendMark | null> {
  const startedAt = p.now().getTime();
  const pending = pendingWhere({ channel: 'alertmanager', fromSeq: p.row.fromSeq });
  const top = await p.db.notificationEvent.findFirst({
    where: pending,
    orderBy: { seq: 'desc' },
    select: { seq: true },
  });
  let last: TPostResult = { ok: true, status: null, error: null };
  let cursor = p.row.fromSeq;
  while (top) {
    const resolutions = await p.db.notificationEvent.findMany({
      where: { AND: [pending, { status: 'resolved', seq: { gt: cursor, lte: top.seq } }] },
      orderBy: { seq: 'asc' },
      take: ALERTMANAGER_CHUNK,
      select: amEventSelect,
    });
    if (resolutions.length === 0) break;
    const now = p.now();
    const r = await post(
      p,
      resolutions.map((e) => postableAlert({ event: e, endsAt: e.endsAt ?? now, publicUrl: p.opts.publicUrl })),
    );
    if (r === 'stopped') return null;
    if (!r.ok) return finish(p, r, 0).then(() => null);
    cursor = resolutions[resolutions.length - 1]!.seq;
  }
  for (let after = 0; ;) {
    const open = await p.db.notificationEvent.findMany({
      where: { open: true, seq: { gt: after } },
      orderBy: { seq: 'asc' },
      take: ALERTMANAGER_CHUNK,
      select: amEventSelect,
    });
    if (open.length === 0) break;
    const hold = new Date(p.now().getTime() + p.opts.holdMs);
    const r = await post(
      p,
      open.map((e) => postableAlert({ event: e, endsAt: hold, publicUrl: p.opts.publicUrl })),
    );
    if (r === 'stopped') return null;
    if (!r.ok) return finish(p, r, 0).then(() => null);
    last = r;
    after = open[open.length - 1]!.seq;
    if (open.length < ALERTMANAGER_CHUNK) break;
  }
  const delivered = top ? await markDelivered(p, top.seq) : 0;
  if (p.alerts > 0 || delivered > 0) await finish(p, last, delivered);
  return { generation: p.row.generation, at: startedAt };
}

export async function deliverAlertmanager(req: {
  db: TDb;
  url: string;
  now: () => Date;
  opts: TDeliveryOptions;
  control: TPassControl;
  /** The last complete re-send (null: none yet by this instance). */
  resent: TResendMark | null;
}): Promise<{ alerts: number; resent: TResendMark | null }> {
  const row = await loadChannel(req.db, 'alertmanager');
  const now = req.now().getTime();
  if (!due(row, req.now())) return { alerts: 0, resent: req.resent };
  const p: TPass = { ...req, row, alerts: 0, refused: null };
  const resendDue = !req.resent || req.resent.generation !== row.generation || now - req.resent.at >= req.opts.resendMs;
  if (!resendDue) {
    await sendPending(p);
    return { alerts: p.alerts, resent: req.resent };
  }
  const resent = (await resend(p)) ?? req.resent;
  return { alerts: p.alerts, resent };
}
