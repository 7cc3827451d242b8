/**
 * Every procedure's output schema by path (`fleet.list`), gathered from the
 * routers' own `outputSchemas(...)` declarations for the OpenAPI document. The
 * compiler holds this list to the app router: a router missing here, or one
 * of its schemas not exactly its resolver's type, fails `tsc`.
 */
import type { AnyProcedure, inferProcedureOutput } from '@trpc/server';
import type { ZodType } from 'zod';
import type { AppRouter } from '../root';
import { admissionOutputs } from '../routers/admission';
import { agentOutputs } from '../routers/agent';
import { auditOutputs } from '../routers/audit';
import { authOutputs } from '../routers/auth';
import { capacityOutputs } from '../routers/capacity';
import { fleetOutputs } from '../routers/fleet';
import { guardOutputs } from '../routers/guard';
import { notificationsOutputs } from '../routers/notifications';
import { smokeOutputs } from '../routers/smoke';
import { systemOutputs } from '../routers/system';
import { tiersOutputs } from '../routers/tiers';
import { tokensOutputs } from '../routers/tokens';
import { usersOutputs } from '../routers/users';
import type { TSchemaMatches } from './output-schemas';

type TApp = AppRouter['_def']['record'];

const BY_ROUTER = {
  auth: authOutputs,
  users: usersOutputs,
  tokens: tokensOutputs,
  fleet: fleetOutputs,
  agent: agentOutputs,
  audit: auditOutputs,
  tiers: tiersOutputs,
  admission: admissionOutputs,
  smoke: smokeOutputs,
  guard: guardOutputs,
  capacity: capacityOutputs,
  notifications: notificationsOutputs,
  system: systemOutputs,
} satisfies { [K in keyof TApp]: { [P in keyof TApp[K]]: ZodType } };

/** Per router and procedure: true when its schema here is exactly what its resolver returns. */
export type TAppOutputsMatch = {
  [K in keyof TApp]: K extends keyof typeof BY_ROUTER
    ? {
        [P in keyof TApp[K]]: P extends keyof (typeof BY_ROUTER)[K]
          ? TApp[K][P] extends AnyProcedure
            ? (typeof BY_ROUTER)[K][P] extends infer S extends ZodType
              ? TSchemaMatches<S, inferProcedureOutput<TApp[K][P]>>
              : false
            : false
          : false;
      }
    : false;
};

export const PROCEDURE_OUTPUTS: ReadonlyMap<string, ZodType> = new Map(
  Object.entries(BY_ROUTER).flatMap(([name, schemas]) =>
    Object.entries(schemas).map(([procedure, schema]): [string, ZodType] => [`${name}.${procedure}`, schema]),
  ),
);
