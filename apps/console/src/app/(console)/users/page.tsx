import { Forbidden } from '@/components/forbidden';
import { UsersAdmin } from '@/components/users-admin';
import { currentActor, hasRole } from '@/lib/actor';

export default async function UsersPage() {
  const actor = await currentActor();
  if (!actor || !hasRole(actor, 'admin')) return <Forbidden role="admin" page="Users" />;
  return (
    <>
      <h1>Users</h1>
      <UsersAdmin />
    </>
  );
}
