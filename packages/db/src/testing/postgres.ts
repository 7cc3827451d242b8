import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Test and tooling helper: a PostgreSQL server to use, started if needed.
 * COOLANT_TEST_PG_URL (a superuser-ish URL to an existing server) wins;
 * otherwise the local Debian cluster is started with pg_ctlcluster and a
 * `coolant_test` role with a password is created (the schema engine wants
 * TCP with credentials).
 */
const ROLE = 'coolant_test';
const PASSWORD = 'coolant_test';

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function clusterVersion(): string | null {
  if (!existsSync('/etc/postgresql')) return null;
  const r = spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).sort().pop() ?? null;
}

export function postgresUnavailableReason(): string | null {
  if (process.env.COOLANT_TEST_PG_URL) return null;
  if (!which('pg_ctlcluster') || !clusterVersion()) {
    return 'PostgreSQL is not installed: install it (apt-get install -y postgresql) or set COOLANT_TEST_PG_URL=postgresql://user:pass@host:5432/postgres';
  }
  return null;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Returns an admin URL (database `postgres`) of a running server. */
export async function ensurePostgres(): Promise<string> {
  if (process.env.COOLANT_TEST_PG_URL) return process.env.COOLANT_TEST_PG_URL;
  const reason = postgresUnavailableReason();
  if (reason) throw new Error(reason);
  const adminUrl = `postgresql://${ROLE}:${PASSWORD}@127.0.0.1:5432/postgres`;
  if (await canConnect(adminUrl)) return adminUrl;
  const version = clusterVersion()!;
  const running = () => spawnSync('pg_ctlcluster', [version, 'main', 'status']).status === 0;
  if (!running()) {
    try {
      execFileSync('pg_ctlcluster', [version, 'main', 'start'], { stdio: 'inherit' });
    } catch (error) {
      // Test files run in parallel: another one may have started it meanwhile ("already running").
      if (!running()) throw error;
    }
  }
  const sql = `DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN
      CREATE ROLE ${ROLE} LOGIN SUPERUSER PASSWORD '${PASSWORD}';
    END IF; END $$;`;
  for (let i = 0; i < 20; i++) {
    const r = spawnSync('su', ['postgres', '-c', `psql -qAtX -c "${sql.replace(/"/g, '\\"').replace(/\$/g, '\\$')}"`], {
      encoding: 'utf8',
    });
    if (r.status === 0) break;
    if (i === 19) throw new Error(`could not create the ${ROLE} role: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 500));
  }
  if (!(await canConnect(adminUrl)))
    throw new Error(`PostgreSQL started but ${adminUrl.replace(PASSWORD, '***')} refuses connections`);
  return adminUrl;
}

/** Creates a fresh, uniquely named database and returns its URL and a drop function. */
export async function createTestDatabase(prefix = 'coolant_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = await ensurePostgres();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
