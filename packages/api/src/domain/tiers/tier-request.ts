/** What every operator-facing tier change takes besides its own fields (one options object per function). */
import type { TDbTx } from '@coolant/db';
import type { TChangeActor } from '../actors/actor';

/**
 * ConfigSync as the tiers module needs it (structurally, so tiers/ does not import admission/):
 * runs a change in one transaction with the config-version bump and applies it before returning.
 */
export type TConfigMutator = {
  mutate<T>(
    fn: (tx: TDbTx, version: number) => Promise<T>,
    opts?: { pausing?: string; onCommitted?: () => void },
  ): Promise<T>;
};

export type TTierRequest = {
  config: TConfigMutator;
  actor: TChangeActor;
  now: Date;
  ip?: string | null | undefined;
};
