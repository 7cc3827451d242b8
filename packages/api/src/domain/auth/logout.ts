/** Signing out ends this session; the session's end and its audit row commit together. */
import type { TDb } from '@coolant/db';
import type { TActor } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';

export async function logout(req: { db: TDb; actor: TActor; ip: string | null }): Promise<{ loggedOut: boolean }> {
  if (req.actor.kind !== 'user') return { loggedOut: false };
  const actor = req.actor;
  await req.db.$transaction(async (tx) => {
    await tx.session.deleteMany({ where: { id: actor.sessionId } });
    await recordAudit({ db: tx, actor, action: 'auth.logout', target: actor.name, ip: req.ip });
  });
  return { loggedOut: true };
}
