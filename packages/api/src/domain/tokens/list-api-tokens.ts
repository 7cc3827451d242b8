import type { TDb } from '@coolant/db';

export async function listApiTokens(req: { db: TDb; includeRevoked: boolean }) {
  const rows = await req.db.apiToken.findMany({
    where: req.includeRevoked ? {} : { revokedAt: null },
    orderBy: { createdAt: 'desc' },
    select: {
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
    },
  });
  return rows.map((r) => ({
    ...r,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
  }));
}
