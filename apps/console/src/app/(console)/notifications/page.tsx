import { Forbidden } from '@/components/forbidden';
import { NotificationsPanel } from '@/components/notifications-panel';
import { currentActor, hasRole } from '@/lib/actor';

// notifications.get is admin-only (the settings name where pages go), so viewers get the same
// Forbidden page as on Tokens and Users rather than a page of errors.
export default async function NotificationsPage() {
  const actor = await currentActor();
  if (!actor || !hasRole(actor, 'admin')) return <Forbidden role="admin" page="Notifications" />;
  return (
    <>
      <h1>Notifications</h1>
      <NotificationsPanel />
    </>
  );
}
