import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

export type TDbProvider = 'sqlite' | 'postgresql';

export type TDbConfig = { provider: 'sqlite'; file: string; url: string } | { provider: 'postgresql'; url: string };

export class DbConfigError extends Error {
  override name = 'DbConfigError';
}

/**
 * Turns DATABASE_URL (optional) and the data directory into a database config.
 * No URL: the embedded SQLite file `<dataDir>/coolant.db`.
 */
export function resolveDbConfig(input: { databaseUrl?: string | undefined; dataDir: string }): TDbConfig {
  const url = input.databaseUrl?.trim();
  if (!url) {
    const file = resolve(input.dataDir, 'coolant.db');
    return { provider: 'sqlite', file, url: `file:${file}` };
  }
  if (url.startsWith('file:')) {
    const raw = url.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (!raw) throw new DbConfigError('DATABASE_URL "file:" needs a path, e.g. file:/var/lib/coolant/coolant.db');
    const file = isAbsolute(raw) ? raw : resolve(raw);
    return { provider: 'sqlite', file, url: `file:${file}` };
  }
  if (url.startsWith('postgresql://') || url.startsWith('postgres://')) {
    try {
      new URL(url);
    } catch {
      throw new DbConfigError('DATABASE_URL is not a valid postgresql:// URL');
    }
    return { provider: 'postgresql', url };
  }
  throw new DbConfigError(
    `DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL); got "${url.split(':')[0]}:…"`,
  );
}

export function ensureSqliteDir(config: TDbConfig): void {
  if (config.provider === 'sqlite') mkdirSync(dirname(config.file), { recursive: true });
}

/** Database URL with the password masked, for logs. */
export function describeDb(config: TDbConfig): string {
  if (config.provider === 'sqlite') return `sqlite ${config.file}`;
  const u = new URL(config.url);
  if (u.password) u.password = '***';
  return `postgresql ${u.toString()}`;
}
