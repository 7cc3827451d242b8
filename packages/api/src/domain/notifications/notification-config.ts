/**
 * Where notifications go (issue 14): the input schema of notifications.configure and the stored
 * row as the domain reads it. The webhook secret is read here for signing and never shaped out.
 */
import { z } from 'zod';
import type { Prisma, TDb, TDbTx } from '@coolant/db';
import { hasUserInfo, redactUrl, urlFingerprint } from './redact-url';

export const CHANNELS = ['alertmanager', 'webhook'] as const;
export type TChannel = (typeof CHANNELS)[number];

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** A receiver's URL: absolute http(s), no credentials in it (the guard's webhook is checked the same way). */
export const ZHttpUrl = z
  .string()
  .trim()
  .max(2000)
  .refine(isHttpUrl, { message: 'must be an absolute http:// or https:// URL' })
  // fetch refuses such URLs with an error quoting them whole, and the URL is shown and audited.
  .refine((v) => !hasUserInfo(v), {
    message:
      'must not carry user:password@ (credentials in a URL end up in errors and logs); put them in a reverse proxy in front of the receiver',
  });

export const ZConfigureNotifications = z.strictObject({
  alertmanager: z.strictObject({ url: ZHttpUrl }).nullable(),
  webhook: z
    .strictObject({
      url: ZHttpUrl,
      /** Omitted: keep the stored one (only when a webhook is already stored). */
      secret: z.string().min(16, 'must be at least 16 characters').max(500).optional(),
    })
    .nullable(),
  reason: z.string().trim().max(500).optional(),
  /**
   * The version the caller's edit starts from (notifications.get's `version`): the change is refused
   * (CONFLICT) if someone else changed the config since, so an edit of one channel made on a stale
   * page cannot put back the other channel as it was. Omitted: no check.
   */
  expectedVersion: z.number().int().min(0).optional(),
});
export type TConfigureNotificationsInput = z.infer<typeof ZConfigureNotifications>;

export const ZSendTest = z.strictObject({ channel: z.enum(['alertmanager', 'webhook', 'all']) });

export const notificationConfigSelect = {
  version: true,
  alertmanagerUrl: true,
  webhookUrl: true,
  webhookSecret: true,
  updatedAt: true,
  updatedBy: true,
} satisfies Prisma.NotificationConfigSelect;

export type TNotificationConfig = {
  version: number;
  updatedAt: Date | null;
  updatedBy: string | null;
  alertmanager: { url: string } | null;
  webhook: { url: string; secret: string } | null;
};

export const EMPTY_CONFIG: TNotificationConfig = {
  version: 0,
  updatedAt: null,
  updatedBy: null,
  alertmanager: null,
  webhook: null,
};

export async function readNotificationConfig(req: { db: TDb | TDbTx }): Promise<TNotificationConfig> {
  const row = await req.db.notificationConfig.findUnique({ where: { id: 1 }, select: notificationConfigSelect });
  if (!row) return EMPTY_CONFIG;
  return {
    version: row.version,
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
    alertmanager: row.alertmanagerUrl ? { url: row.alertmanagerUrl } : null,
    webhook: row.webhookUrl && row.webhookSecret ? { url: row.webhookUrl, secret: row.webhookSecret } : null,
  };
}

/** What reads and the audit log show: whether a secret is set, never the secret. */
export function redactNotificationConfig(c: TNotificationConfig) {
  return {
    alertmanager: c.alertmanager ? { url: c.alertmanager.url } : null,
    webhook: c.webhook ? { url: c.webhook.url, secretSet: true as const } : null,
  };
}

/** What the audit log (a viewer may read it) shows: origin and a hash of each URL, never a path or query. */
export function auditNotificationConfig(c: TNotificationConfig) {
  const url = (u: string) => ({ url: redactUrl(u), sha256: urlFingerprint(u) });
  return {
    alertmanager: c.alertmanager ? url(c.alertmanager.url) : null,
    webhook: c.webhook ? { ...url(c.webhook.url), secretSet: true as const } : null,
  };
}
