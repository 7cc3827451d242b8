import { Forbidden } from '@/components/forbidden';
import { TokensAdmin } from '@/components/tokens-admin';
import { currentActor, hasRole } from '@/lib/actor';

export default async function TokensPage() {
  const actor = await currentActor();
  if (!actor || !hasRole(actor, 'admin')) return <Forbidden role="admin" page="Tokens" />;
  return (
    <>
      <h1>Tokens</h1>
      <TokensAdmin />
    </>
  );
}
