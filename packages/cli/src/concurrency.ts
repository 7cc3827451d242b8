/**
 * `coolant concurrency set <tier> --per-subject N --per-tier N`: how many generations a tier may
 * have in flight at once, per end user and in total (tiers.setConcurrency; none = unbounded, a
 * bound left out stays as it is).
 */
import type { TClient } from './client';
import { EXIT } from './errors';

type TResult = { json: unknown; text: string; exitCode: number };
type TOpts = () => { signal: AbortSignal };

export type TConcurrencyBounds = { perSubject: number | null; perTier: number | null };

/** "1 per subject, 400 for the tier"; "unbounded" when neither is set. */
export function describeConcurrency(c: TConcurrencyBounds): string {
  if (c.perSubject === null && c.perTier === null) return 'unbounded';
  const each = c.perSubject === null ? 'unbounded per subject' : `${c.perSubject} per subject`;
  const all = c.perTier === null ? 'unbounded for the tier' : `${c.perTier} for the tier`;
  return `${each}, ${all}`;
}

export async function setConcurrency(
  client: TClient,
  opts: TOpts,
  cmd: {
    tier: string;
    perSubject: number | null | undefined;
    perTier: number | null | undefined;
    reason: string | null;
  },
): Promise<TResult> {
  const res = await client.tiers.setConcurrency.mutate(
    {
      tier: cmd.tier,
      ...(cmd.perSubject !== undefined ? { perSubject: cmd.perSubject } : {}),
      ...(cmd.perTier !== undefined ? { perTier: cmd.perTier } : {}),
      ...(cmd.reason ? { reason: cmd.reason } : {}),
    },
    opts(),
  );
  return {
    json: res,
    text: `Generations in flight for ${res.tier}: ${describeConcurrency(res.before)} → ${describeConcurrency(res.concurrency)} (config v${res.configVersion}).`,
    exitCode: EXIT.ok,
  };
}
