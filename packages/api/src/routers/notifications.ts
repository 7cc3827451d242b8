/**
 * notifications.* (admin): where alerts are pushed (Alertmanager's v2 API, a signed webhook), how
 * delivery is going, and a test alert. Thin: validation here, the work in domain/notifications.
 */
import { configureNotifications } from '../domain/notifications/configure-notifications';
import { getNotifications } from '../domain/notifications/get-notifications';
import { ZConfigureNotifications, ZSendTest } from '../domain/notifications/notification-config';
import { ZNotificationsResponse, ZSendTestResponse } from '../domain/notifications/notification-responses';
import { sendTestNotification } from '../domain/notifications/send-test-notification';
import { outputSchemas } from '../openapi/output-schemas';
import { adminProcedure, router } from '../trpc';

export const notificationsRouter = router({
  get: adminProcedure.query(({ ctx }) => getNotifications({ db: ctx.db })),
  configure: adminProcedure.input(ZConfigureNotifications).mutation(async ({ ctx, input }) => {
    await configureNotifications({ ...input, db: ctx.db, actor: ctx.actor, now: ctx.now(), ip: ctx.request.ip });
    return getNotifications({ db: ctx.db });
  }),
  sendTest: adminProcedure.input(ZSendTest).mutation(({ ctx, input }) =>
    sendTestNotification({
      db: ctx.db,
      actor: ctx.actor,
      channel: input.channel,
      now: ctx.now(),
      delivery: ctx.notifications.delivery,
      ip: ctx.request.ip,
    }),
  ),
});

export const notificationsOutputs = outputSchemas(notificationsRouter, {
  get: ZNotificationsResponse,
  configure: ZNotificationsResponse,
  sendTest: ZSendTestResponse,
});
