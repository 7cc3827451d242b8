'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useMutation } from '@tanstack/react-query';
import { useTRPC } from '@/trpc/client';

const LINKS = [
  { href: '/fleet', label: 'Fleet', admin: false },
  { href: '/tiers', label: 'Tiers & quotas', admin: false },
  { href: '/capacity', label: 'Capacity', admin: false },
  { href: '/guard', label: 'Guard', admin: false },
  { href: '/smoke', label: 'Smoke tests', admin: false },
  { href: '/audit', label: 'Audit', admin: false },
  { href: '/api-docs', label: 'API', admin: false },
  { href: '/tokens', label: 'Tokens', admin: true },
  { href: '/users', label: 'Users', admin: true },
  { href: '/notifications', label: 'Notifications', admin: true },
];

export function NavLinks({ isAdmin, name, role }: { isAdmin: boolean; name: string; role: string }) {
  const pathname = usePathname();
  const trpc = useTRPC();
  const logout = useMutation(trpc.auth.logout.mutationOptions({ onSettled: () => window.location.assign('/login') }));
  return (
    <>
      {LINKS.filter((l) => !l.admin || isAdmin).map((l) => (
        <Link key={l.href} href={l.href} aria-current={pathname.startsWith(l.href) ? 'page' : undefined}>
          {l.label}
        </Link>
      ))}
      <div className="who">
        <div data-testid="whoami">
          {name} · {role}
        </div>
        <button className="secondary" style={{ marginTop: 8 }} onClick={() => logout.mutate()}>
          Sign out
        </button>
      </div>
    </>
  );
}
