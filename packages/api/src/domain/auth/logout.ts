import type { TDb } from '@coolant/db';
import type { TActor } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';

export async function logout(req: { db: TDb; actor: TActor; ip: string | null }): Promise<{ loggedOut: boolean }> {
  if (req.actor.kind !== 'user') return { loggedOut: false };
  await req.db.session.deleteMany({ where: { id: req.actor.sessionId } });
  await recordAudit({ db: req.db, actor: req.actor, action: 'auth.logout', target: req.actor.name, ip: req.ip });
  return { loggedOut: true };
}
