import { TRPCError } from '@trpc/server';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREE_FAILURES_PER_USER_IP } from '../src/domain/auth/login-throttle';
import { ensureAdmin, ensureEnvAdminToken } from '../src/domain/system/bootstrap';
import { createHarness, type THarness } from './harness';
import { gpu, sample } from './samples';

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return e instanceof TRPCError ? e.code : String(e);
  }
}

function cookieValue(setCookie: string): string {
  return setCookie.split(';')[0]!;
}

describe.each(TEST_PROVIDERS)('auth, tokens, enrollment, audit (%s)', (provider) => {
  let h: THarness;
  beforeAll(async () => {
    h = await createHarness(provider);
  });
  afterAll(() => h.close());

  it('logs in with the right password, sets an httpOnly SameSite=Lax cookie, and the cookie authenticates', async () => {
    const u = await h.makeUser('operator');
    const anon = await h.caller();
    const res = await anon.auth.login({ username: u.username, password: u.password });
    expect(res.user.role).toBe('operator');
    const set = h.cookies[0]!;
    expect(set).toMatch(/^coolant_session=cs_/);
    expect(set).toContain('HttpOnly');
    expect(set).toContain('SameSite=Lax');
    expect(set).not.toContain('Secure');
    const me = await (await h.caller({ cookie: cookieValue(set) })).auth.me();
    expect(me).toMatchObject({ kind: 'user', name: u.username, role: 'operator' });
    // The stored session id is a hash, never the cookie value.
    const sessions = await h.db.session.findMany({ where: { userId: u.id } });
    expect(sessions.map((s) => s.id)).not.toContain(cookieValue(set).split('=')[1]);
  });

  it('rejects a wrong password with 401 and audits it', async () => {
    const u = await h.makeUser('viewer');
    expect(await codeOf((await h.caller()).auth.login({ username: u.username, password: 'wrong password!' }))).toBe(
      'UNAUTHORIZED',
    );
    const events = await (
      await h.caller({ authorization: await h.makeToken('admin') })
    ).audit.list({ action: 'auth.login_failed', target: u.username });
    expect(events.events).toHaveLength(1);
    expect(events.events[0]!.reason).toBe('wrong password');
  });

  // Failures are throttled per (username, IP): a guesser spends its own budget, not the owner's.
  it('rate-limits failed logins per username and IP; the right password from another IP still signs in', async () => {
    const u = await h.makeUser('viewer');
    for (let i = 0; i < FREE_FAILURES_PER_USER_IP; i++) {
      expect(
        await codeOf(
          (await h.caller({ ip: '10.0.0.1' })).auth.login({ username: u.username, password: 'nope nope nope' }),
        ),
      ).toBe('UNAUTHORIZED');
    }
    expect(
      await codeOf((await h.caller({ ip: '10.0.0.1' })).auth.login({ username: u.username, password: u.password })),
    ).toBe('TOO_MANY_REQUESTS');
    expect(
      (await (await h.caller({ ip: '10.0.1.1' })).auth.login({ username: u.username, password: u.password })).user.role,
    ).toBe('viewer');
  });

  it('logout ends the session and is audited', async () => {
    const u = await h.makeUser('viewer');
    await (await h.caller()).auth.login({ username: u.username, password: u.password });
    const cookie = cookieValue(h.cookies[0]!);
    expect(await (await h.caller({ cookie })).auth.logout()).toEqual({ loggedOut: true });
    expect(h.cookies[0]).toContain('Max-Age=0');
    expect(await codeOf((await h.caller({ cookie })).fleet.list())).toBe('UNAUTHORIZED');
    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    expect((await admin.audit.list({ action: 'auth.logout', actor: u.username })).events).toHaveLength(1);
  });

  it('an admin creates a token; it works; revoked, it gets UNAUTHORIZED; both audited with reason', async () => {
    const admin = await h.caller({ cookie: await h.sessionFor('admin') });
    const created = await admin.tokens.create({ name: 'ci pipeline', role: 'operator', reason: 'deploys' });
    expect(created.secret).toMatch(/^ct_/);
    const row = await h.db.apiToken.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.tokenHash).not.toContain(created.secret);
    const asToken = await h.caller({ authorization: `Bearer ${created.secret}` });
    expect(await asToken.auth.me()).toMatchObject({ kind: 'token', role: 'operator' });
    await admin.tokens.revoke({ id: created.id, reason: 'leaked' });
    expect(await codeOf((await h.caller({ authorization: `Bearer ${created.secret}` })).fleet.list())).toBe(
      'UNAUTHORIZED',
    );
    const audit = await admin.audit.list({ target: created.id });
    expect(audit.events.map((e) => e.action).sort()).toEqual(['token.create', 'token.revoke']);
    expect(audit.events.find((e) => e.action === 'token.revoke')!.reason).toBe('leaked');
    expect(await codeOf(admin.tokens.revoke({ id: created.id }))).toBe('CONFLICT');
  });

  it('rejects a malformed Authorization header and an unknown token with 401', async () => {
    expect(await codeOf((await h.caller({ authorization: 'Basic abc' })).auth.me())).toBe('UNAUTHORIZED');
    expect(await codeOf((await h.caller({ authorization: 'Bearer ct_nope' })).fleet.list())).toBe('UNAUTHORIZED');
  });

  it('bad input names the field', async () => {
    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    const err = await admin.tokens.create({ name: '', role: 'root' as 'admin' }).catch((e: TRPCError) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe('BAD_REQUEST');
    const unknown = await admin.tokens
      .create({ name: 'x', role: 'viewer', extra: 1 } as never)
      .catch((e: TRPCError) => e);
    expect((unknown as TRPCError).code).toBe('BAD_REQUEST');
  });

  it('users: create, change role, disable ends sessions, and the last admin is protected', async () => {
    await h.db.user.deleteMany({ where: { role: 'admin' } });
    const first = await ensureAdmin({ db: h.db, password: 'first admin password' });
    expect(first.created).toBe(true);
    expect(first.generatedPassword).toBeNull();
    await (await h.caller()).auth.login({ username: first.username, password: 'first admin password' });
    const admin = await h.caller({ cookie: cookieValue(h.cookies[0]!) });
    const v = await admin.users.create({ username: 'vera', password: 'vera password 1', role: 'viewer' });
    await (await h.caller()).auth.login({ username: 'vera', password: 'vera password 1' });
    const veraCookie = cookieValue(h.cookies[0]!);
    await admin.users.update({ id: v.id, role: 'operator', reason: 'on call' });
    expect(await (await h.caller({ cookie: veraCookie })).auth.me()).toMatchObject({ role: 'operator' });
    await admin.users.update({ id: v.id, disabled: true });
    // Protected procedures refuse the ended session; public ones (auth.me) treat it as signed out.
    expect(await codeOf((await h.caller({ cookie: veraCookie })).fleet.list())).toBe('UNAUTHORIZED');
    expect(await (await h.caller({ cookie: veraCookie })).auth.me()).toBeNull();
    const self = (await admin.users.list()).find((u) => u.username === first.username)!;
    expect(await codeOf(admin.users.update({ id: self.id, role: 'viewer' }))).toBe('CONFLICT');
    const changes = await admin.audit.list({ action: 'user.' });
    expect(changes.events.map((e) => e.action)).toEqual(expect.arrayContaining(['user.create', 'user.update']));
    expect(await ensureAdmin({ db: h.db })).toMatchObject({ created: false });
  });

  it('first run without a password generates one', async () => {
    await h.db.user.updateMany({ where: { role: 'admin' }, data: { disabledAt: new Date() } });
    const r = await ensureAdmin({ db: h.db });
    expect(r.created).toBe(true);
    expect(r.generatedPassword).toMatch(/^.{16,}$/);
    await (await h.caller()).auth.login({ username: r.username, password: r.generatedPassword! });
  });

  // A revoked one stays revoked: test/bootstrap-token.test.ts.
  it('COOLANT_ADMIN_TOKEN is guaranteed', async () => {
    await ensureEnvAdminToken({ db: h.db, secret: 'ci-admin-secret-0123456789' });
    const c = await h.caller({ authorization: 'Bearer ci-admin-secret-0123456789' });
    expect(await c.auth.me()).toMatchObject({ kind: 'token', role: 'admin' });
  });

  it('enrollment: the secret buys a node token that can only call agent.*; reports are deduplicated by seq; revocation locks it out', async () => {
    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    const { enrollToken } = await admin.system.enrollment();
    expect(await codeOf((await h.caller()).agent.enroll({ enrollToken: 'wrong', hostname: 'gpu-1' }))).toBe(
      'UNAUTHORIZED',
    );
    const enrolled = await (await h.caller()).agent.enroll({ enrollToken, hostname: 'gpu-1', agentVersion: '0.1.0' });
    const node = await h.caller({ authorization: `Bearer ${enrolled.nodeToken}` });
    const report = (seq: number) => node.agent.report({ intervalSeconds: 5, samples: [sample(seq, [gpu(0)])] });
    expect(await report(1)).toMatchObject({ accepted: 1, duplicates: 0, acceptedUpTo: 1 });
    expect(await report(1)).toMatchObject({ accepted: 0, duplicates: 1, acceptedUpTo: 1 });
    expect(await report(2)).toMatchObject({ accepted: 1, acceptedUpTo: 2 });
    expect(await codeOf(node.fleet.list())).toBe('FORBIDDEN');
    const listed = (await admin.fleet.list()).nodes.find((n) => n.id === enrolled.nodeId)!;
    expect(listed).toMatchObject({ hostname: 'gpu-1', status: 'online', lastSeq: 2 });
    await admin.fleet.revokeNode({ id: enrolled.nodeId, reason: 'decommissioned' });
    expect(
      await codeOf(
        (await h.caller({ authorization: `Bearer ${enrolled.nodeToken}` })).agent.report({
          intervalSeconds: 5,
          samples: [sample(3, [])],
        }),
      ),
    ).toBe('UNAUTHORIZED');
    const { enrollToken: rotated } = await admin.system.rotateEnrollment();
    expect(rotated).not.toBe(enrollToken);
    expect(await codeOf((await h.caller()).agent.enroll({ enrollToken, hostname: 'gpu-2' }))).toBe('UNAUTHORIZED');
  });

  it('audit.list paginates newest first', async () => {
    const admin = await h.caller({ authorization: await h.makeToken('admin') });
    const page1 = await admin.audit.list({ limit: 3 });
    expect(page1.events).toHaveLength(3);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = await admin.audit.list({ limit: 3, cursor: page1.nextCursor! });
    expect(page2.events[0]!.id).toBeLessThan(page1.events[2]!.id);
  });
});
