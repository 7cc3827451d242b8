/** An admin creates an API token; its secret is shown once. */
import type { TDb } from '@coolant/db';
import type { TActor } from '../actors/actor';
import type { TTokenRole } from '../../lib/roles';
import { newSecret, sha256 } from '../../lib/secrets';
import { actorName } from '../actors/actor';
import { recordAudit } from '../audit/record-audit';

export type TCreateApiTokenRequest = {
  db: TDb;
  actor: TActor;
  name: string;
  role: TTokenRole;
  reason?: string | undefined;
  ip: string | null;
};

export async function createApiToken(req: TCreateApiTokenRequest) {
  const secret = newSecret('ct');
  // The token and its audit row commit together: no credential exists without its record.
  const token = await req.db.$transaction(async (tx) => {
    const created = await tx.apiToken.create({
      data: {
        name: req.name,
        role: req.role,
        tokenHash: sha256(secret),
        prefix: secret.slice(0, 7),
        createdBy: actorName(req.actor),
      },
    });
    await recordAudit({
      db: tx,
      actor: req.actor,
      action: 'token.create',
      target: created.id,
      reason: req.reason,
      details: { name: created.name, role: created.role },
      ip: req.ip,
    });
    return created;
  });
  // The secret is returned once and never stored.
  return { id: token.id, name: token.name, role: req.role, prefix: token.prefix, secret };
}

// Moved to the actors leaf; re-exported for the callers that still import it from here.
export { actorName } from '../actors/actor';
