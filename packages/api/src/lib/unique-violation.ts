/**
 * Prisma's `upsert` is not one atomic statement on every provider (on PostgreSQL with
 * `update: {}` it reads, then inserts), so two callers creating the same row at once can
 * both try the insert. The loser's P2002 means "someone else created it": the row exists,
 * which is all a create-once caller wanted.
 */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'P2002';
}

/** Runs a create that may race with another of the same row; a lost race is not an error. */
export async function createOnce(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
}
