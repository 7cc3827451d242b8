/** Writes one audit row; callers pass their transaction so the row commits with the change it records. */
import type { TDb, TDbTx } from '@coolant/db';
import type { TActor } from '../actors/actor';

export type TAuditActor = TActor | { kind: 'system'; name: string };

export type TRecordAuditRequest = {
  db: TDb | TDbTx;
  actor: TAuditActor;
  action: string;
  target?: string | null;
  reason?: string | null;
  details?: unknown;
  ip?: string | null;
  at?: Date;
};

export function actorColumns(actor: TAuditActor): { actorType: string; actorId: string | null; actorName: string } {
  switch (actor.kind) {
    case 'user':
    case 'token':
    case 'node':
      return { actorType: actor.kind, actorId: actor.id, actorName: actor.name };
    case 'system':
      return { actorType: 'system', actorId: null, actorName: actor.name };
    case 'anonymous':
      return { actorType: 'anonymous', actorId: null, actorName: 'anonymous' };
    case 'invalid':
      return { actorType: 'anonymous', actorId: null, actorName: 'invalid credential' };
  }
}

export async function recordAudit(req: TRecordAuditRequest): Promise<void> {
  await req.db.auditEvent.create({
    data: {
      ...actorColumns(req.actor),
      action: req.action,
      target: req.target ?? null,
      reason: req.reason ?? null,
      details: req.details === undefined ? null : JSON.stringify(req.details),
      ip: req.ip ?? null,
      ...(req.at ? { at: req.at } : {}),
    },
  });
}
