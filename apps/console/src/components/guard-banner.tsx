'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '@/trpc/client';
import { ago, dateTime } from '@/lib/format';
import { useNow } from '@/lib/use-now';

export const GUARD_REFETCH_MS = 3_000;

/**
 * Shown on every page while the guard has shed anything (what, since when),
 * or while it holds for lack of telemetry: load is being refused by a
 * machine, and nobody should have to find that out from a user.
 */
export function GuardBanner() {
  const trpc = useTRPC();
  const guard = useQuery({ ...trpc.guard.get.queryOptions({ brief: true }), refetchInterval: GUARD_REFETCH_MS });
  const now = useNow();
  const g = guard.data;
  if (!g || (g.shed.length === 0 && !g.alert)) return null;
  return (
    <section className="guard-banner" aria-label="Guard" data-testid="guard-banner">
      {g.shed.length > 0 && (
        <div className="guard-title" role="alert">
          Guard is shedding load ({g.state}):{' '}
          {g.shed.map((s, i) => (
            <span key={`${s.rule}-${s.step}`} data-testid="guard-shed" data-tier={s.tier} data-action={s.action}>
              {i > 0 && '; '}
              <b>{s.description}</b> since <span title={s.since}>{dateTime(s.since)}</span>
              {now > 0 && ` (${ago(s.since, now)})`}
            </span>
          ))}{' '}
          · <Link href="/guard">Guard page</Link>
        </div>
      )}
      {g.alert && (
        <div className="guard-alert" data-testid="guard-alert">
          {g.alert}: counts neither as hot nor as cool
        </div>
      )}
    </section>
  );
}
