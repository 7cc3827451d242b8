import { TRPCError } from '@trpc/server';
import { TEST_PROVIDERS } from '@coolant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../src/root';
import type { TAccess } from '../src/trpc';
import { callPath, createHarness, type THarness } from './harness';

/**
 * The expected access of EVERY procedure. A procedure added to the router
 * without a line here fails this test, so nobody ships an endpoint whose
 * audience was never decided.
 */
const EXPECTED: Record<string, TAccess> = {
  'auth.login': 'public',
  'auth.logout': 'public',
  'auth.me': 'public',
  'users.list': 'admin',
  'users.create': 'admin',
  'users.update': 'admin',
  'tokens.list': 'admin',
  'tokens.create': 'admin',
  'tokens.revoke': 'admin',
  'fleet.list': 'viewer',
  'fleet.node': 'viewer',
  'fleet.revokeNode': 'admin',
  'fleet.alertRules': 'viewer',
  'fleet.setAlertRules': 'admin',
  'agent.enroll': 'public',
  'agent.report': 'agent',
  'agent.sequence': 'agent',
  'agent.nextJob': 'agent',
  'agent.jobResult': 'agent',
  'smoke.run': 'operator',
  'smoke.get': 'viewer',
  'smoke.list': 'viewer',
  'audit.list': 'viewer',
  'tiers.list': 'viewer',
  'tiers.setLimit': 'admin',
  'tiers.setTemporaryLimit': 'operator',
  'tiers.setConcurrency': 'admin',
  'tiers.clearTemporaryLimit': 'operator',
  'tiers.pause': 'operator',
  'tiers.resume': 'operator',
  'tiers.create': 'admin',
  'tiers.update': 'admin',
  'admission.consume': 'gateway',
  'admission.refund': 'gateway',
  'admission.release': 'gateway',
  'admission.heartbeat': 'gateway',
  'guard.get': 'viewer',
  'guard.history': 'viewer',
  'guard.arm': 'operator',
  'guard.disarm': 'operator',
  'guard.update': 'admin',
  'guard.drill': 'admin',
  'capacity.get': 'viewer',
  'capacity.history': 'viewer',
  'capacity.configure': 'admin',
  'notifications.get': 'admin',
  'notifications.configure': 'admin',
  'notifications.sendTest': 'admin',
  'system.info': 'public',
  'system.enrollment': 'admin',
  'system.rotateEnrollment': 'admin',
};

type TCallerKind =
  | 'anonymous'
  | 'viewer'
  | 'operator'
  | 'admin'
  | 'token:viewer'
  | 'token:operator'
  | 'token:admin'
  | 'token:gateway'
  | 'node'
  | 'revoked-token';

const CALLERS: TCallerKind[] = [
  'anonymous',
  'viewer',
  'operator',
  'admin',
  'token:viewer',
  'token:operator',
  'token:admin',
  'token:gateway',
  'node',
  'revoked-token',
];

function allowed(access: TAccess, caller: TCallerKind): boolean {
  if (caller === 'revoked-token') return false;
  if (access === 'public') return true;
  if (access === 'agent') return caller === 'node';
  const role = caller.replace('token:', '');
  if (access === 'gateway') return role === 'gateway' || role === 'operator' || role === 'admin';
  if (role === 'gateway') return false;
  const rank: Record<string, number> = { viewer: 1, operator: 2, admin: 3 };
  return (rank[role] ?? 0) >= rank[access]!;
}

describe.each(TEST_PROVIDERS)('authorization matrix (%s)', (provider) => {
  let h: THarness;
  beforeAll(async () => {
    h = await createHarness(provider);
  });
  afterAll(() => h.close());

  const procedures = Object.keys(appRouter._def.procedures).sort();

  it('covers every procedure of the root router, and nothing else', () => {
    expect(procedures).toEqual(Object.keys(EXPECTED).sort());
  });

  it('declares on each procedure the access the table expects', () => {
    for (const path of procedures) {
      const meta = (appRouter._def.procedures as unknown as Record<string, { _def: { meta?: { access?: TAccess } } }>)[
        path
      ]!._def.meta;
      expect(meta?.access, path).toBe(EXPECTED[path]);
    }
  });

  async function headersFor(caller: TCallerKind): Promise<{ authorization?: string; cookie?: string }> {
    switch (caller) {
      case 'anonymous':
        return {};
      case 'viewer':
      case 'operator':
      case 'admin':
        return { cookie: await h.sessionFor(caller) };
      case 'token:viewer':
      case 'token:operator':
      case 'token:admin':
      case 'token:gateway':
        return { authorization: await h.makeToken(caller.replace('token:', '') as 'viewer') };
      case 'node':
        return { authorization: (await h.makeNodeToken()).token };
      case 'revoked-token': {
        const authorization = await h.makeToken('admin');
        await h.db.apiToken.updateMany({
          where: { revokedAt: null, name: 't-admin' },
          data: { revokedAt: new Date() },
        });
        return { authorization };
      }
    }
  }

  for (const caller of CALLERS) {
    it(`${caller}: allowed exactly where the table says`, async () => {
      const mismatches: string[] = [];
      for (const path of procedures) {
        // Each call gets fresh credentials: auth.logout must not end the session the next call uses.
        const c = await h.caller(await headersFor(caller));
        let code: string | null = null;
        try {
          // No input: an authorized caller fails validation (BAD_REQUEST) or succeeds; an unauthorized one never gets that far.
          await callPath(c, path, undefined);
        } catch (e) {
          code = e instanceof TRPCError ? e.code : 'NOT_TRPC';
        }
        const denied = code === 'UNAUTHORIZED' || code === 'FORBIDDEN';
        const expectAllowed = allowed(EXPECTED[path]!, caller);
        if (expectAllowed === denied)
          mismatches.push(`${path}: expected ${expectAllowed ? 'allow' : 'deny'}, got ${code ?? 'ok'}`);
        if (code === 'INTERNAL_SERVER_ERROR' || code === 'NOT_TRPC') mismatches.push(`${path}: crashed (${code})`);
      }
      expect(mismatches).toEqual([]);
    });
  }
});
