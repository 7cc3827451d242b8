/**
 * The delivery state every channel shares (deliver-webhook.ts, deliver-alertmanager.ts): when the
 * next attempt is due, how long a failure backs off, and the one write that records an attempt on
 * the channel's row, where notifications.get and /metrics read it. Nothing is dropped: an event
 * stays pending until its channel accepted it.
 */
import type { Prisma, TDb } from '@coolant/db';
import type { TPostResult } from './http-post';
import type { TChannel } from './notification-config';

export type TDeliveryOptions = {
  /** Alertmanager: firing alerts are re-sent this often (default 30 s)… */
  resendMs: number;
  /** …with endsAt this far ahead (default 3 min), so a missed re-send or two does not resolve them. */
  holdMs: number;
  /** First retry after a failure; doubles per consecutive failure up to backoffMaxMs. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  timeoutMs: number;
  /** The console's public URL (generatorURL), when known. */
  publicUrl: string | null;
};

/** What a delivery pass needs besides the options: the lease check before each POST and the stop signal. */
export type TPassControl = {
  /** Confirms (and renews) the lease in the database; false: another instance delivers now, post nothing. */
  confirm: () => Promise<boolean>;
  signal: AbortSignal;
  /** A pass stops starting POSTs after this long (the next pass reads the config again). */
  budgetMs: number;
};

export const channelRowSelect = {
  channel: true,
  fromSeq: true,
  generation: true,
  consecutiveFailures: true,
  nextAttemptAt: true,
} satisfies Prisma.NotificationChannelSelect;

export type TChannelRow = Prisma.NotificationChannelGetPayload<{ select: typeof channelRowSelect }>;

export async function loadChannel(db: TDb, channel: TChannel): Promise<TChannelRow> {
  return (
    (await db.notificationChannel.findUnique({ where: { channel }, select: channelRowSelect })) ??
    (await db.notificationChannel.upsert({
      where: { channel },
      create: { channel },
      update: {},
      select: channelRowSelect,
    }))
  );
}

export function due(row: { nextAttemptAt: Date | null }, now: Date): boolean {
  return !row.nextAttemptAt || row.nextAttemptAt.getTime() <= now.getTime();
}

/**
 * The wait after `failures` failures in a row. Alertmanager keeps no alert it was not re-sent, and
 * one that restarts comes back empty: its retries never wait longer than a re-send period (nor half
 * the hold), so the alerts are back there within one. The webhook may wait the full cap.
 */
export function backoffMs(req: { channel: TChannel; failures: number; opts: TDeliveryOptions }): number {
  const { opts } = req;
  const cap =
    req.channel === 'alertmanager'
      ? Math.min(opts.backoffMaxMs, opts.resendMs, Math.floor(opts.holdMs / 2))
      : opts.backoffMaxMs;
  return Math.min(cap, opts.backoffBaseMs * 2 ** Math.min(30, req.failures - 1));
}

/**
 * Records one attempt (or a pass's last one): `delivered` events accepted, then `result`. The
 * state is written only while the channel's generation is still the one the pass read: after a
 * reconfigure, an old pass's failure must not overwrite the new address's reset backoff. The
 * counters count either way. `accepted`: the receiver took the batch though it answered an error
 * (Alertmanager's 400 for a batch with one invalid alert): recorded, visible, not retried.
 */
export async function recordAttempt(req: {
  db: TDb;
  row: TChannelRow;
  now: Date;
  result: TPostResult;
  /** Failures in a row before this attempt. */
  failures: number;
  delivered: number;
  accepted?: boolean;
  opts: TDeliveryOptions;
}): Promise<boolean> {
  const { db, row, now, result } = req;
  const counters = {
    delivered: { increment: req.delivered },
    ...(result.ok ? {} : { failed: { increment: 1 } }),
  };
  const failures = result.ok || req.accepted ? 0 : req.failures + 1;
  const state = {
    lastAttemptAt: now,
    lastStatus: result.status,
    lastError: result.error,
    consecutiveFailures: failures,
    nextAttemptAt:
      failures === 0
        ? null
        : new Date(now.getTime() + backoffMs({ channel: row.channel as TChannel, failures, opts: req.opts })),
    ...(result.ok || req.accepted ? { lastSuccessAt: now } : {}),
  };
  const r = await db.notificationChannel.updateMany({
    where: { channel: row.channel, generation: row.generation },
    data: { ...state, ...counters },
  });
  if (r.count === 1) return true;
  if (req.delivered || !result.ok)
    await db.notificationChannel.updateMany({ where: { channel: row.channel }, data: counters });
  return false;
}
