import { GuardPanel } from '@/components/guard-panel';
import { currentActor } from '@/lib/actor';

export default async function GuardPage() {
  const actor = await currentActor();
  return (
    <>
      <h1>Guard</h1>
      {/* The role only decides which controls are shown; the API checks every change itself. */}
      <GuardPanel role={actor?.role ?? 'viewer'} />
    </>
  );
}
