/** The scheduled resume: ends pauses whose resumeAt has passed, once, whichever instance gets there first. */
import type { TDb } from '@coolant/db';
import { SCHEDULER_ACTOR } from '../actors/actor';
import type { TConfigMutator } from './tier-request';
import { writeResume } from './tier-state';

export async function resumeDuePauses(req: { db: TDb; config: TConfigMutator; now: Date }): Promise<string[]> {
  const { now } = req;
  const due = await req.db.tier.findMany({ where: { pausedAt: { not: null }, resumeAt: { lte: now } } });
  const resumed: string[] = [];
  for (const tier of due) {
    // Compare-and-set on the pause read above: another instance (or an operator) that got there first wins.
    const won = await req.config.mutate((tx, version) =>
      writeResume({ tx, version, actor: SCHEDULER_ACTOR, now, reason: 'scheduled resume', tier, due: true }),
    );
    if (won) resumed.push(tier.name);
  }
  return resumed;
}
