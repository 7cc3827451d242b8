/** The API tokens an admin sees: never their hash or secret (the select names what leaves). */
import type { Prisma, TDb } from '@coolant/db';

const apiTokenListSelect = {
  id: true,
  name: true,
  role: true,
  prefix: true,
  createdBy: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
  revokedBy: true,
  fromEnv: true,
} satisfies Prisma.ApiTokenSelect;

export async function listApiTokens(req: { db: TDb; includeRevoked: boolean }) {
  const rows = await req.db.apiToken.findMany({
    where: req.includeRevoked ? {} : { revokedAt: null },
    orderBy: { createdAt: 'desc' },
    select: apiTokenListSelect,
  });
  return rows.map((r) => ({
    ...r,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
  }));
}
