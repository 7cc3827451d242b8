/**
 * `coolant capacity` and `coolant capacity reserve <tier> <n%>`: the fleet's slots and each tier's
 * share as a table, and a change of one tier's reservation that leaves every other share as it is:
 * it sends only that tier's reservation (sharesMode 'merge'), so an edit of another tier, or the
 * guard's, made since the command read the shares is kept, not sent back over.
 */
import type { TClient } from './client';
import { EXIT } from './errors';
import { table, utc } from './format';

export type TCapacity = Awaited<ReturnType<TClient['capacity']['get']['query']>>;
type TResult = { json: unknown; text: string; exitCode: number };
type TOpts = () => { signal: AbortSignal };

const pct = (fraction: number) => `${Math.round(fraction * 1000) / 10} %`;
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function renderCapacity(c: TCapacity): string {
  const fleet = [
    `${plural(c.usableGpus, 'usable GPU', 'usable GPUs')} of ${c.gpusTotal}`,
    c.hotGpus ? `${c.hotGpus} hot (count ${c.hotWeight} each)` : null,
    c.nodesOffline ? `${plural(c.nodesOffline, 'node', 'nodes')} offline` : null,
  ].filter(Boolean);
  const head =
    c.state === 'off'
      ? 'Capacity admission: off (only quotas apply); the fleet would give'
      : c.state === 'unknown'
        ? `Capacity admission: UNKNOWN (${c.stateReason}); each tier's failMode decides; last measured`
        : 'Capacity admission: on;';
  const lines = [
    `${head} ${c.slots} slots (${fleet.join(', ')}), ${c.slotsPerGpu} per GPU; measured ${utc(c.computedAt)}`,
    `In flight: ${c.inflight}, free: ${c.free}`,
    '',
    table(
      ['TIER', 'PRIORITY', 'RESERVED', 'SLOTS', 'IN FLIGHT', 'BORROWED', 'EXPIRED'],
      c.tiers.map((t) => [
        t.tier,
        String(t.priority),
        pct(t.reserved),
        String(t.reservedSlots),
        String(t.inflight),
        String(t.borrowed),
        String(t.leasesExpired),
      ]),
    ),
  ];
  return lines.join('\n');
}

export async function showCapacity(client: TClient, opts: TOpts): Promise<TResult> {
  const c = await client.capacity.get.query(undefined, opts());
  return { json: c, text: renderCapacity(c), exitCode: EXIT.ok };
}

export async function reserveCapacity(
  client: TClient,
  opts: TOpts,
  cmd: { tier: string; reserved: number; reason: string | null },
): Promise<TResult> {
  const before = await client.capacity.get.query(undefined, opts());
  const own = before.tiers.find((t) => t.tier === cmd.tier);
  // An unknown tier goes along as it is: the console's refusal names it.
  const res = await client.capacity.configure.mutate(
    {
      sharesMode: 'merge',
      shares: [{ tier: cmd.tier, reserved: cmd.reserved }],
      ...(cmd.reason !== null ? { reason: cmd.reason } : {}),
    },
    opts(),
  );
  const after = await client.capacity.get.query(undefined, opts());
  const now = after.tiers.find((t) => t.tier === cmd.tier)!;
  return {
    json: {
      ...res,
      tier: cmd.tier,
      before: own?.reserved ?? 0,
      reserved: now.reserved,
      reservedSlots: now.reservedSlots,
    },
    text: `Reserved ${pct(now.reserved)} of capacity for ${cmd.tier} (was ${pct(own?.reserved ?? 0)}): ${now.reservedSlots} of ${after.slots} slots now (config v${res.configVersion}).`,
    exitCode: EXIT.ok,
  };
}
