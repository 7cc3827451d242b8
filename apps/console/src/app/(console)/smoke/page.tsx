import { SmokeTests } from '@/components/smoke-tests';
import { currentActor, hasRole } from '@/lib/actor';

export default async function SmokePage() {
  const actor = await currentActor();
  return (
    <>
      <h1>Smoke tests</h1>
      <SmokeTests canRun={!!actor && hasRole(actor, 'operator')} />
    </>
  );
}
