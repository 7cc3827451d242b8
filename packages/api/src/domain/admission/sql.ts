import type { TDbProvider } from '@coolant/db';

/** Placeholder list for raw statements: `?` on SQLite, `$n` on PostgreSQL. */
export function placeholders(provider: TDbProvider, rows: number, cols: number, offset = 0): string {
  const out: string[] = [];
  let n = offset;
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [];
    for (let c = 0; c < cols; c++) cells.push(provider === 'sqlite' ? '?' : `$${++n}`);
    out.push(`(${cells.join(',')})`);
  }
  return out.join(',');
}

export function counterUpsertSql(provider: TDbProvider, rows: number): string {
  const max = provider === 'sqlite' ? 'MAX' : 'GREATEST';
  return `INSERT INTO "QuotaCounter" ("tierId","window","subject","windowStartMin","used") VALUES ${placeholders(provider, rows, 5)}
ON CONFLICT ("tierId","window","subject","windowStartMin") DO UPDATE SET "used" = ${max}(0, "QuotaCounter"."used" + excluded."used")`;
}

/**
 * Records a requestId's answer. A row that has expired but is not pruned yet
 * is replaced (its id is free again); a live one is kept, and on PostgreSQL
 * RETURNING gives nothing, so the caller reads the first answer instead (on
 * SQLite the one owning process has checked before).
 */
export function requestUpsertSql(provider: TDbProvider): string {
  return `INSERT INTO "AdmissionRequest" ("requestId","fingerprint","response","createdAt","expiresAt") VALUES ${placeholders(provider, 1, 5)}
ON CONFLICT ("requestId") DO UPDATE SET "fingerprint" = excluded."fingerprint", "response" = excluded."response", "createdAt" = excluded."createdAt", "expiresAt" = excluded."expiresAt"
WHERE "AdmissionRequest"."expiresAt" <= excluded."createdAt"${provider === 'postgresql' ? ' RETURNING "requestId"' : ''}`;
}

export function statUpsertSql(provider: TDbProvider, rows: number): string {
  return `INSERT INTO "AdmissionStat" ("tierName","minute","allowed","denied") VALUES ${placeholders(provider, rows, 4)}
ON CONFLICT ("tierName","minute") DO UPDATE SET "allowed" = "AdmissionStat"."allowed" + excluded."allowed", "denied" = "AdmissionStat"."denied" + excluded."denied"`;
}

/** SQLite allows 32,766 bound parameters per statement; stay well below. */
export const MAX_ROWS_PER_STATEMENT = 1000;

export function chunk<T>(items: T[], size = MAX_ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
