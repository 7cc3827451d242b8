import type { ZodType } from 'zod';
import type { THotProcedure } from './hot-procedure';
import type { TAccess } from './lib/authorize';
import { consumeProcedure, heartbeatProcedure, refundProcedure, releaseProcedure } from './routers/admission';
import { reportProcedure } from './routers/agent';

/**
 * The procedures the console also serves over plain HTTP (a single unbatched
 * POST), by path. Each is the router's own declaration, not a copy.
 */
export type TAnyHotProcedure = THotProcedure<TAccess, ZodType, unknown>;

export const HOT_PROCEDURES: ReadonlyMap<string, TAnyHotProcedure> = new Map(
  (
    [
      consumeProcedure,
      refundProcedure,
      releaseProcedure,
      heartbeatProcedure,
      reportProcedure,
    ] satisfies TAnyHotProcedure[]
  ).map((p) => [p.path, p]),
);
