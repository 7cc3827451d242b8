import { headers } from 'next/headers';
import { redirect } from 'next/navigation';

export type TRole = 'viewer' | 'operator' | 'admin';
export type TPageActor = { id: string; name: string; role: TRole };

const rank: Record<TRole, number> = { viewer: 1, operator: 2, admin: 3 };

/** The signed-in user, as resolved by the console's HTTP server (server/http.ts). */
export async function currentActor(): Promise<TPageActor | null> {
  const raw = (await headers()).get('x-coolant-actor');
  if (!raw) return null;
  try {
    return JSON.parse(decodeURIComponent(raw)) as TPageActor;
  } catch {
    return null;
  }
}

export async function requireActor(path: string): Promise<TPageActor> {
  const actor = await currentActor();
  if (!actor) redirect(`/login?next=${encodeURIComponent(path)}`);
  return actor;
}

export function hasRole(actor: TPageActor, required: TRole): boolean {
  return rank[actor.role] >= rank[required];
}
