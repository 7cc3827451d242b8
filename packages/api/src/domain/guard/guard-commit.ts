/**
 * One write of the decider: its state (compare-and-set on seq) and its events in one transaction,
 * optionally with a tier change in between, then the webhooks once committed. A lost race is a
 * value (null), not an exception: the state is claimed first, so losing leaves nothing to undo.
 */
import type { TDb, TDbTx } from '@coolant/db';
import type { ConfigSync } from '../admission/config-sync';
import { writeGuardEvents, type GuardNotifier, type TGuardEvent } from './guard-events';
import { casGuardState, writeClaimedState, type TGuardRuntime } from './guard-state';

export type TDecider = { db: TDb; config: ConfigSync; now: () => Date; instanceId: string; notifier: GuardNotifier };

type TCommit = { seq: number; runtime: TGuardRuntime; events: TGuardEvent[]; guardVersion: number };

/** The state and events alone. The next seq, or null when another decider wrote first. */
export async function commitGuard(c: TCommit & { decider: TDecider }): Promise<number | null> {
  const d = c.decider;
  const out = await d.db.$transaction(async (tx) => {
    const next = await casGuardState({ db: tx, seq: c.seq, runtime: c.runtime });
    if (next === null) return null;
    return {
      next,
      written: await writeGuardEvents({
        tx,
        events: c.events,
        guardVersion: c.guardVersion,
        at: d.now(),
        instanceId: d.instanceId,
      }),
    };
  });
  if (!out) return null;
  d.notifier.notify({ events: out.written, guardVersion: c.guardVersion });
  return out.next;
}

/**
 * A tier change and the guard's state in one config change. `change` runs after the state is
 * claimed and may still edit `c.runtime` and push to `c.events` (what it did decides both).
 */
export async function commitGuardWithChange(
  c: TCommit & {
    decider: TDecider;
    change: (tx: TDbTx, version: number) => Promise<void>;
    /** The tier this change pauses (ConfigSync announces a pause at once). */
    pausing?: string | undefined;
  },
): Promise<number | null> {
  const d = c.decider;
  const out = await d.config.mutate(
    async (tx, version) => {
      const next = await casGuardState({ db: tx, seq: c.seq, runtime: c.runtime });
      if (next === null) return null;
      await c.change(tx, version);
      await writeClaimedState({ tx, seq: next, runtime: c.runtime });
      return {
        next,
        written: await writeGuardEvents({
          tx,
          events: c.events,
          guardVersion: c.guardVersion,
          at: d.now(),
          instanceId: d.instanceId,
        }),
      };
    },
    c.pausing === undefined ? {} : { pausing: c.pausing },
  );
  if (!out) return null;
  d.notifier.notify({ events: out.written, guardVersion: c.guardVersion });
  return out.next;
}
