import type { ReactNode } from 'react';
import { redirect } from 'next/navigation';
import { AccessBar } from '@/components/access-bar';
import { NavLinks } from '@/components/nav-links';
import { currentActor, hasRole } from '@/lib/actor';

export const dynamic = 'force-dynamic';

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const actor = await currentActor();
  if (!actor) redirect('/login');
  return (
    <div className="shell">
      <nav className="nav">
        <div className="brand">Coolant</div>
        <NavLinks isAdmin={hasRole(actor, 'admin')} name={actor.name} role={actor.role} />
      </nav>
      <div className="content">
        <AccessBar canOperate={hasRole(actor, 'operator')} />
        <main>{children}</main>
      </div>
    </div>
  );
}
