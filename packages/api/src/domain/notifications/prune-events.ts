/**
 * Keeps the outbox small: closed transitions older than a week that every configured channel has
 * accepted (or that were never any channel's) go. Open alerts and anything still pending stay,
 * however old: nothing undelivered is dropped.
 */
import type { TDb } from '@coolant/db';
import { readNotificationConfig } from './notification-config';

const KEEP_MS = 7 * 86_400_000;

export async function pruneNotificationEvents(req: { db: TDb; now: Date }): Promise<number> {
  const { db } = req;
  const config = await readNotificationConfig({ db });
  const channels = await db.notificationChannel.findMany({ select: { channel: true, fromSeq: true } });
  const from = new Map(channels.map((c) => [c.channel, c.fromSeq]));
  const r = await db.notificationEvent.deleteMany({
    where: {
      open: false,
      createdAt: { lt: new Date(req.now.getTime() - KEEP_MS) },
      AND: [
        config.webhook ? { OR: [{ webhookAt: { not: null } }, { seq: { lte: from.get('webhook') ?? 0 } }] } : {},
        config.alertmanager
          ? { OR: [{ alertmanagerAt: { not: null } }, { seq: { lte: from.get('alertmanager') ?? 0 } }] }
          : {},
      ],
    },
  });
  return r.count;
}
