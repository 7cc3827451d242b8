import { z } from 'zod';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export const ZRole = z.enum(ROLES);
export type TRole = z.infer<typeof ZRole>;

const rank: Record<TRole, number> = { viewer: 1, operator: 2, admin: 3 };

export function roleAtLeast(role: TRole, required: TRole): boolean {
  return rank[role] >= rank[required];
}

export function isRole(value: string): value is TRole {
  return (ROLES as readonly string[]).includes(value);
}

/** API tokens may also be `gateway`: the serving gateway's token, good for admission.* only. */
export const TOKEN_ROLES = ['viewer', 'operator', 'admin', 'gateway'] as const;
export const ZTokenRole = z.enum(TOKEN_ROLES);
export type TTokenRole = z.infer<typeof ZTokenRole>;

export function isTokenRole(value: string): value is TTokenRole {
  return (TOKEN_ROLES as readonly string[]).includes(value);
}
