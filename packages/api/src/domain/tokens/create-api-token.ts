import type { TDb } from '@coolant/db';
import type { TActor } from '../actors/actor';
import type { TTokenRole } from '../../lib/roles';
import { newSecret, sha256 } from '../../lib/secrets';
import { actorName } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';

export async function createApiToken(req: {
  db: TDb;
  actor: TActor;
  name: string;
  role: TTokenRole;
  reason?: string | undefined;
  ip: string | null;
}) {
  const secret = newSecret('ct');
  const token = await req.db.apiToken.create({
    data: {
      name: req.name,
      role: req.role,
      tokenHash: sha256(secret),
      prefix: secret.slice(0, 7),
      createdBy: actorName(req.actor),
    },
  });
  await recordAudit({
    db: req.db,
    actor: req.actor,
    action: 'token.create',
    target: token.id,
    reason: req.reason,
    details: { name: token.name, role: token.role },
    ip: req.ip,
  });
  // The secret is returned once and never stored.
  return { id: token.id, name: token.name, role: req.role, prefix: token.prefix, secret };
}

// Moved to the actors leaf; re-exported for the callers that still import it from here.
export { actorName } from '../actors/actor';
