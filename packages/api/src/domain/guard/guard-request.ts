/** What every operator-facing guard mutation takes besides its own fields (one options object per function). */
import type { TDb } from '@coolant/db';
import type { TPersonActor } from '../actors/actor';

export type TGuardRequest = {
  db: TDb;
  actor: TPersonActor;
  ip?: string | null | undefined;
  reason?: string | undefined;
};
