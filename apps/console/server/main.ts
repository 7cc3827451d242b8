import { createServer } from 'node:http';
import { resolve } from 'node:path';
import next from 'next';
import { ensureAdmin, ensureEnrollmentSecret, ensureEnvAdminToken, startServices } from '@coolant/api';
import { closeDb, describeDb, getDb, resolveDbConfig, tuneSqlite } from '@coolant/db';
import pkg from '../../../package.json' with { type: 'json' };
import { readEnv } from './env';
import { createRequestListener } from './http';
import { startLocalAgent, stopChild } from './local-agent';
import { runMigrations } from './run-migrations';

const CONSOLE_DIR = resolve(import.meta.dirname, '..');

async function main(): Promise<void> {
  const env = readEnv();
  const dev = process.argv.includes('--dev');
  const dbConfig = resolveDbConfig({ databaseUrl: env.DATABASE_URL, dataDir: env.dataDir });
  console.log(`Coolant ${pkg.version}: database ${describeDb(dbConfig)}`);

  const applied = await runMigrations(dbConfig);
  if (applied.length) console.log(`Applied migrations: ${applied.join(', ')}`);
  const db = getDb(dbConfig);
  await tuneSqlite(db, dbConfig);

  const admin = await ensureAdmin({ db, password: env.COOLANT_ADMIN_PASSWORD });
  if (env.COOLANT_ADMIN_TOKEN && (await ensureEnvAdminToken({ db, secret: env.COOLANT_ADMIN_TOKEN })) === 'revoked') {
    console.warn(
      'Warning: COOLANT_ADMIN_TOKEN names an API token that was revoked; it stays revoked. Set a new secret or unset COOLANT_ADMIN_TOKEN.',
    );
  }
  const enrollmentSecret = () => ensureEnrollmentSecret({ db, fromEnv: env.COOLANT_ENROLL_TOKEN });
  await enrollmentSecret();

  const services = await startServices({
    db,
    dbConfig,
    version: pkg.version,
    enrollmentSecret,
    log: (m) => console.warn(`[console] ${m}`),
    offlineAfterMs: env.COOLANT_NODE_OFFLINE_AFTER_SECONDS * 1000,
    credentialCacheMs: env.COOLANT_CREDENTIAL_CACHE_SECONDS * 1000,
    retention: { rawHours: env.COOLANT_RETENTION_RAW_HOURS, rollupDays: env.COOLANT_RETENTION_ROLLUP_DAYS },
    ...(env.COOLANT_PUBLIC_URL ? { notifications: { publicUrl: env.COOLANT_PUBLIC_URL } } : {}),
  });

  const app = next({ dev, dir: CONSOLE_DIR, hostname: env.HOST, port: env.PORT });
  await app.prepare();
  const server = createServer(createRequestListener({ services, env, next: app.getRequestHandler() }));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(env.PORT, env.HOST, () => res());
  });
  const port = (server.address() as { port: number }).port;
  const url = `http://${env.HOST === '0.0.0.0' || env.HOST === '::' ? 'localhost' : env.HOST}:${port}`;

  console.log(`Coolant console: ${url}`);
  if (admin.created) {
    console.log(
      admin.generatedPassword
        ? `First run: created admin user "${admin.username}" with password ${admin.generatedPassword}\n  (shown once; change it on the Users page)`
        : `First run: created admin user "${admin.username}" with the password from COOLANT_ADMIN_PASSWORD`,
    );
  }

  const agent = env.COOLANT_LOCAL_AGENT
    ? startLocalAgent({
        serverUrl: `http://127.0.0.1:${port}`,
        enrollToken: await enrollmentSecret(),
        dataDir: env.dataDir,
      })
    : null;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`Coolant console: ${signal}, shutting down`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    if (agent) await stopChild(agent);
    server.closeIdleConnections();
    await new Promise<void>((res) => server.close(() => res()));
    await services.stop();
    await closeDb();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(`Coolant console failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
