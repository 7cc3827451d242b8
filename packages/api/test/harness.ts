import { randomBytes } from 'node:crypto';
import { createPrismaClient, type TDb, type TDbProvider } from '@coolant/db';
import { createTestDb, type TTestDb } from '@coolant/db/testing';
import type { TContext } from '../src/context';
import { createRequestContext } from '../src/create-context';
import { ensureEnrollmentSecret } from '../src/domain/system/bootstrap';
import { startServices, type TRunningServices } from '../src/services';
import type { TRole } from '../src/lib/roles';
import { hashPassword, newSecret, sha256 } from '../src/lib/secrets';
import { createCaller } from '../src/root';

export type THarness = {
  testDb: TTestDb;
  db: TDb;
  services: TRunningServices;
  /** Set-Cookie headers written by the last context built with `request`. */
  cookies: string[];
  request(opts?: { authorization?: string | null; cookie?: string | null; ip?: string }): Promise<TContext>;
  caller(opts?: {
    authorization?: string | null;
    cookie?: string | null;
    ip?: string;
  }): Promise<ReturnType<typeof createCaller>>;
  makeUser(role: TRole, password?: string): Promise<{ id: string; username: string; password: string }>;
  /** A live session cookie value for a new user of this role (no scrypt, fast). */
  sessionFor(role: TRole): Promise<string>;
  makeToken(role: TRole | 'gateway'): Promise<string>;
  makeNodeToken(hostname?: string): Promise<{ nodeId: string; token: string }>;
  close(): Promise<void>;
};

export async function createHarness(
  provider: TDbProvider,
  opts: { now?: () => Date; background?: boolean; offlineAfterMs?: number } = {},
): Promise<THarness> {
  const testDb = await createTestDb(provider);
  const db = testDb.db;
  const services = await startServices({
    db,
    dbConfig: testDb.config,
    version: 'test',
    enrollmentSecret: () => ensureEnrollmentSecret({ db }),
    background: opts.background ?? false,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.offlineAfterMs !== undefined ? { offlineAfterMs: opts.offlineAfterMs } : {}),
  });
  const cookies: string[] = [];
  const h: THarness = {
    testDb,
    db,
    services,
    cookies,
    async request(opts = {}) {
      cookies.length = 0;
      return createRequestContext(services, {
        authorization: opts.authorization ?? null,
        cookieHeader: opts.cookie ?? null,
        ip: opts.ip ?? '127.0.0.1',
        userAgent: 'vitest',
        secure: false,
        appendSetCookie: (v) => cookies.push(v),
      });
    },
    async caller(opts = {}) {
      return createCaller(await h.request(opts));
    },
    async makeUser(role, password = 'correct horse battery') {
      const username = `${role}-${randomBytes(4).toString('hex')}`;
      const user = await db.user.create({ data: { username, role, passwordHash: await hashPassword(password) } });
      return { id: user.id, username, password };
    },
    async sessionFor(role) {
      const username = `${role}-${randomBytes(4).toString('hex')}`;
      const user = await db.user.create({ data: { username, role, passwordHash: 'x' } });
      const secret = newSecret('cs');
      await db.session.create({
        data: { id: sha256(secret), userId: user.id, expiresAt: new Date(Date.now() + 3_600_000) },
      });
      return `coolant_session=${secret}`;
    },
    async makeToken(role: TRole | 'gateway') {
      const secret = newSecret('ct');
      await db.apiToken.create({
        data: { name: `t-${role}`, role, tokenHash: sha256(secret), prefix: secret.slice(0, 7) },
      });
      return `Bearer ${secret}`;
    },
    async makeNodeToken(hostname = 'gpu-test') {
      const secret = newSecret('cn');
      const node = await db.node.create({ data: { hostname, tokenHash: sha256(secret) } });
      return { nodeId: node.id, token: `Bearer ${secret}` };
    },
    async close() {
      await services.stop();
      await testDb.cleanup();
    },
  };
  return h;
}

/** Calls `a.b.c` on a caller by its dotted path. */
export async function callPath(caller: unknown, path: string, input: unknown): Promise<unknown> {
  let target: unknown = caller;
  for (const part of path.split('.')) target = (target as Record<string, unknown>)[part];
  return (target as (i: unknown) => Promise<unknown>)(input);
}

/** A caller on any services object (a second instance, a restarted one) with this Authorization header. */
export async function callerOn(
  services: TRunningServices,
  authorization: string,
): Promise<ReturnType<typeof createCaller>> {
  return createCaller(
    await createRequestContext(services, {
      authorization,
      cookieHeader: null,
      ip: '127.0.0.1',
      userAgent: 'vitest',
      secure: false,
      appendSetCookie: () => {},
    }),
  );
}

/**
 * Services on the harness's database with a Prisma client of their own: another console instance
 * (its own pool, config sync and instance id); with `db`, on that client instead (a restart).
 */
export async function startInstance(h: THarness, opts: { db?: TDb } = {}): Promise<TRunningServices> {
  const db = opts.db ?? createPrismaClient(h.testDb.config);
  return startServices({
    db,
    dbConfig: h.testDb.config,
    version: 'test',
    enrollmentSecret: () => ensureEnrollmentSecret({ db }),
    background: false,
  });
}
