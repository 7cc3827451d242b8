import { TiersAdmin } from '@/components/tiers-admin';
import { currentActor } from '@/lib/actor';

export default async function TiersPage() {
  const actor = await currentActor();
  return (
    <>
      <h1>Tiers &amp; quotas</h1>
      {/* The role only decides which controls are shown; the API checks every change itself. */}
      <TiersAdmin role={actor?.role ?? 'viewer'} />
    </>
  );
}
