import { CapacityPanel } from '@/components/capacity-panel';
import { currentActor } from '@/lib/actor';

export default async function CapacityPage() {
  const actor = await currentActor();
  return (
    <>
      <h1>Capacity</h1>
      {/* The role only decides which controls are shown; the API checks every change itself. */}
      <CapacityPanel isAdmin={actor?.role === 'admin'} />
    </>
  );
}
